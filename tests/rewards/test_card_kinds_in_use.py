"""Card kinds in use (#33, item 3): "switched off" means one thing on every path.

The holes: a running campaign could be moved onto a kind with no stock without a word; a kind
could be switched off while rewards waited for it, after which the admin's import page hid the
kind while the import command still took it, and the schedules kept issuing its cards. Through
the admin's actions, the import command and the fulfilment schedule's code."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from cardpool.exceptions import KIND_SWITCHED_OFF
from cardpool.models import Card, CardKind, CardKindEvent
from cardpool.services import allocate_cards
from cardpool.services.uploads import confirm_upload, import_upload, receive_upload, validate_upload
from rewards.models import Grant, GrantEvent
from rewards.services import fulfil_pending_grants, grant_reward, reissue_grant
from tests.cardpool.files import csv_bytes, good_rows
from tests.factories import CampaignFactory, CardKindFactory, make_cards, qualified_invitation
from tests.rewards.campaign_form import edit

pytestmark = pytest.mark.django_db


def act(client, model: str, action: str, obj, reason: str, **fields):
    return client.post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [obj.pk], "apply": "1", "reason": reason, **fields},
        follow=True,
    )


def test_a_kind_in_use_is_not_switched_off_until_its_campaigns_and_waiting_rewards_moved(
    admin_client,
):
    campaign = CampaignFactory(points=200)  # JD20, running
    jd20 = campaign.card_kind
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    make_cards(jd50, 3)
    waiting = grant_reward(qualified_invitation(campaign=campaign))  # no JD20 card: waits

    refused = act(admin_client, "cardpool_cardkind", "switch_off", jd20, "discontinued")

    assert "卡种 JD20 仍在使用" in refused.content.decode()
    assert CardKind.objects.get(pk=jd20.pk).is_active

    # the campaign moves, on the record; the reward earned under JD20 still waits for it
    edit(admin_client, campaign, card_kind=jd50.pk, terms_reason="JD20 discontinued")
    still = act(admin_client, "cardpool_cardkind", "switch_off", jd20, "discontinued")
    assert "1 份奖励在等待它或被暂扣" in still.content.decode()

    # a reviewer's explicit choice: paid in JD50, the difference recorded with the reason
    act(
        admin_client,
        "rewards_grant",
        "replace_in_kind_selected",
        waiting,
        "JD20 discontinued",
        card_kind=jd50.pk,
    )
    waiting.refresh_from_db()
    new = waiting.replaced_by
    assert waiting.status == Grant.Status.VOID
    assert (new.status, new.card.kind.code, new.face_value, new.points) == (
        Grant.Status.ISSUED,
        "JD50",
        Decimal("50.00"),
        200,
    )
    [event] = GrantEvent.objects.filter(grant=waiting, action=GrantEvent.Action.REISSUED)
    assert "in JD50 (50.00) instead of JD20 (20.00), +30.00 yuan: JD20 discontinued" in (
        event.reason
    )

    act(admin_client, "cardpool_cardkind", "switch_off", jd20, "discontinued")

    assert not CardKind.objects.get(pk=jd20.pk).is_active
    [switched] = CardKindEvent.objects.filter(kind=jd20)
    assert (switched.action, switched.reason, switched.actor.username) == (
        "switched_off",
        "discontinued",
        "admin",
    )


def test_a_kind_switched_off_takes_no_batch_by_the_command_or_the_admin(
    admin_client, tmp_path, card_kind
):
    off = CardKindFactory(code="OLD10", name="old", face_value=Decimal("10.00"), is_active=False)
    file = tmp_path / "cards.csv"
    file.write_bytes(csv_bytes(good_rows(3)))

    with pytest.raises(CommandError, match="卡种 OLD10 已停用"):
        call_command("import_cards", str(file), "--kind", "OLD10", verbosity=0)
    page = admin_client.get(reverse("admin:cardpool_cardbatch_import")).content.decode()

    assert Card.objects.filter(kind=off).count() == 0
    assert "OLD10" not in page  # not offered
    # switched off while an upload waited for its confirmation: the import refuses it whole
    upload = validate_upload(
        receive_upload(kind=card_kind, file_name="a.csv", chunks=[csv_bytes(good_rows(2))]).pk
    )
    CardKind.objects.filter(pk=card_kind.pk).update(is_active=False)
    confirm_upload(upload)
    upload = import_upload(upload.pk)
    assert upload.status == "failed"
    assert upload.errors == [{"row": 0, "message": KIND_SWITCHED_OFF.format(kind="JD20")}]
    assert Card.objects.count() == 0


def test_no_path_hands_out_a_card_of_a_kind_switched_off():
    """A kind switched off under waiting rewards (as before this rule, or by SQL): allocation
    takes none of its cards, so the grant path, the fulfilment schedule and a reissue leave
    them."""
    campaign = CampaignFactory()
    kind = campaign.card_kind
    make_cards(kind, 1)
    issued = grant_reward(qualified_invitation(campaign=campaign))
    waiting = grant_reward(qualified_invitation(campaign=campaign))
    make_cards(kind, 3)
    CardKind.objects.filter(pk=kind.pk).update(is_active=False)

    assert fulfil_pending_grants() == 0
    replacement = reissue_grant(issued, reason="card did not work", actor=None)
    late = grant_reward(qualified_invitation(campaign=campaign))

    assert (replacement.status, late.status) == (Grant.Status.PENDING_STOCK,) * 2
    assert Grant.objects.get(pk=waiting.pk).status == Grant.Status.PENDING_STOCK
    assert Card.objects.filter(kind=kind, status="available").count() == 3
    with transaction.atomic():
        assert allocate_cards(kind.pk, 1) == []
