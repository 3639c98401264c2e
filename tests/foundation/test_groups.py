import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command


@pytest.mark.django_db
def test_staff_groups_are_created_idempotently_and_nobody_reveals_by_default():
    call_command("setup_groups")
    call_command("setup_groups")
    assert set(Group.objects.values_list("name", flat=True)) == {
        "Card managers",
        "Reviewers",
        "Auditors",
        "Finance",
    }
    auditors = set(
        Group.objects.get(name="Auditors").permissions.values_list("codename", flat=True)
    )
    assert auditors and all(codename.startswith("view_") for codename in auditors)
    assert not Group.objects.filter(permissions__codename="reveal_card_secret").exists()
    assert Group.objects.get(name="Card managers").permissions.filter(codename="add_card").exists()
    finance = set(Group.objects.get(name="Finance").permissions.values_list("codename", flat=True))
    assert finance - auditors == {"add_export"}  # exports, and nothing else changes
