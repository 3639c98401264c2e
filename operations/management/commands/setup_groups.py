"""Staff groups with their permissions (idempotent). The card-password reveal permission is in
no group on purpose: it is granted to named people, and every use is recorded."""

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

VIEW_ALL = [
    f"{app}.view_{model}"
    for app, models in {
        "cardpool": ["cardkind", "cardkindevent", "cardbatch", "card", "cardevent"],
        "invitations": [
            "customer",
            "customerevent",
            "campaign",
            "campaignevent",
            "invitation",
            "invitationevent",
            "pollcycle",
            "pollplan",
        ],
        "rewards": [
            "grant",
            "pointsentry",
            "grantevent",
            "unrewardedinvitation",
            "anomaly",
            "anomalyevent",
            "reconciliationrun",
        ],
        "notifications": ["message", "messageevent"],
        "signin": ["appidentity", "signinevent"],
        "operations": ["datarequest"],
        "finance": ["export"],
    }.items()
    for model in models
] + ["admin.view_logentry"]

GROUPS = {
    # import and withdraw batches, watch stock, void cards, switch card kinds off and on
    "Card managers": [
        *VIEW_ALL,
        "cardpool.add_card",
        "cardpool.change_card",
        "cardpool.change_cardbatch",
        "cardpool.change_cardkind",
        "cardpool.add_cardkind",
    ],
    # review anomalies and holds, void or reissue grants, pause campaigns, flag customers
    "Reviewers": [
        *VIEW_ALL,
        "rewards.change_grant",
        "rewards.change_unrewardedinvitation",  # grant one over the budget, once it is raised
        "rewards.change_anomaly",
        "invitations.change_campaign",
        "invitations.change_customer",
        "invitations.add_invitation",  # attribute a lost sign-up (then the normal checks)
        "notifications.change_message",  # send a failed message again
    ],
    # read everything, change nothing
    "Auditors": VIEW_ALL,
    # export the grants, card use and the points ledger for the books and the card supplier
    "Finance": [*VIEW_ALL, "finance.add_export"],
}


class Command(BaseCommand):
    help = "Create or update the staff groups: Card managers, Reviewers, Auditors, Finance."

    def handle(self, *args, **options):
        for name, codenames in GROUPS.items():
            group, _ = Group.objects.get_or_create(name=name)
            permissions = []
            for dotted in codenames:
                app_label, codename = dotted.split(".")
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            group.permissions.set(permissions)
            self.stdout.write(f"{name}: {len(permissions)} permissions")
