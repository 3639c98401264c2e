"""Finance's exports: the grants of a period, card use per import batch, the points ledger; as
CSV and XLSX, read and written in chunks, phones masked unless the one who asked may see them,
never a card secret, each recorded, downloaded only by whoever asked."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from cardpool import secrets as card_secrets
from finance.exceptions import ExportRefused
from finance.models import Export
from finance.services import remove_old_files, request_export, write_export
from rewards.models import Grant
from rewards.services import grant_reward
from tests.factories import (
    CampaignFactory,
    CardKindFactory,
    CustomerFactory,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture
def finance_user(django_user_model):
    user = django_user_model.objects.create_user("wang.finance", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="add_export"),
        Permission.objects.get(codename="view_export"),
    )
    return user


_numbers = iter(range(10_000))


def granted(count=2, *, name="春季邀请"):
    campaign = CampaignFactory(name=name, points=200)
    make_cards(campaign.card_kind, count)
    made = []
    for _ in range(count):
        n = next(_numbers)
        invitation = qualified_invitation(
            campaign=campaign,
            inviter=CustomerFactory(phone=f"1380013{n:04d}"),
            invitee_phone=f"1590000{n:04d}",
        )
        made.append(grant_reward(invitation))
    return made


def today():
    return timezone.localdate()


def write(user, **kwargs) -> Export:
    export = request_export(
        kind=kwargs.get("kind", "grants"),
        format=kwargs.get("format", "csv"),
        start=kwargs.get("start", today()),
        end=kwargs.get("end", today()),
        user=user,
    )
    return write_export(export.pk)


def csv_rows(export: Export, export_dir) -> list[list[str]]:
    text = (Path(export_dir) / export.file_name).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_grants_of_a_period_with_masked_phones_and_never_a_card_secret(
    finance_user, export_dir
):
    grants = granted(2)
    yesterday_grant = granted(1, name="old")[0]
    Grant.objects.filter(pk=yesterday_grant.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )

    export = write(finance_user)

    assert (export.status, export.rows, export.full_phones) == ("done", 2, False)
    header, *rows = csv_rows(export, export_dir)
    assert len(header) == 15 and len(rows) == 2
    assert {row[0] for row in rows} == {grant.grant_no for grant in grants}
    text = (Path(export_dir) / export.file_name).read_text(encoding="utf-8-sig")
    phones = [grant.inviter.phone for grant in grants] + [
        grant.invitation.invitee_phone for grant in grants
    ]
    assert not [phone for phone in phones if phone in text]
    assert all(f"{phone[:3]}****{phone[-4:]}" in text for phone in phones)
    for grant in grants:
        card = grant.card
        assert card_secrets.decrypt(card.number_encrypted) not in text
        assert card_secrets.decrypt(card.password_encrypted) not in text
        assert f"****{card.number_last4}" in text
    assert "春季邀请" in text


def test_full_phones_only_for_staff_allowed_to_see_them(finance_user, export_dir):
    [grant] = granted(1)
    finance_user.user_permissions.add(Permission.objects.get(codename="view_full_phone"))
    finance_user = type(finance_user).objects.get(pk=finance_user.pk)  # fresh permission cache
    export = write(finance_user)
    assert export.full_phones
    text = (Path(export_dir) / export.file_name).read_text(encoding="utf-8-sig")
    assert grant.inviter.phone in text


def test_xlsx_holds_the_same_rows(finance_user, export_dir):
    from openpyxl import load_workbook

    grants = granted(3)
    export = write(finance_user, format="xlsx")
    sheet = load_workbook(Path(export_dir) / export.file_name, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4 and {row[0] for row in rows[1:]} == {g.grant_no for g in grants}


def test_card_use_per_batch_and_the_points_ledger(finance_user, export_dir):
    granted(2)
    batches = write(finance_user, kind="card_batches")
    header, [batch_row] = csv_rows(batches, export_dir)[0], csv_rows(batches, export_dir)[1:]
    by_status = dict(zip(header[6:], batch_row[6:], strict=True))
    assert batch_row[5] == "2" and sorted(by_status.values()) == ["0", "0", "0", "2"]
    points = write(finance_user, kind="points")
    header, *rows = csv_rows(points, export_dir)
    assert len(rows) == 2 and {row[3] for row in rows} == {"200"}


def test_a_formula_typed_by_someone_is_written_as_text(finance_user, export_dir):
    granted(1, name='=HYPERLINK("http://evil.example")')
    [row] = csv_rows(write(finance_user), export_dir)[1:]
    assert row[5].startswith("'=")


def test_only_whoever_asked_downloads_the_file_and_each_download_is_counted(
    client, finance_user, admin_user
):
    granted(1)
    export = write(finance_user)
    url = reverse("admin:finance_export_download", args=[export.pk])
    client.force_login(admin_user)
    assert client.get(url).status_code == 404  # a superuser did not ask for it
    client.force_login(finance_user)
    response = client.get(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("发放单号")
    export.refresh_from_db()
    assert export.downloads == 1


def test_staff_ask_in_the_admin_and_the_cluster_writes_it(
    client, finance_user, django_capture_on_commit_callbacks
):
    from django.utils.module_loading import import_string

    granted(1)
    client.force_login(finance_user)
    page = client.get(reverse("admin:finance_export_changelist")).content.decode()
    assert 'id="new-export"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:finance_export_new"),
            {"kind": "grants", "format": "xlsx", "start": today(), "end": today()},
        )
    assert response.status_code == 302
    [queued] = OrmQ.objects.all()
    assert import_string(queued.task["func"])(*queued.task["args"]) == 1  # as the cluster runs it
    assert Export.objects.get().status == "done"


def test_bad_periods_are_refused_saying_why_and_record_nothing(client, finance_user):
    client.force_login(finance_user)
    future = client.post(
        reverse("admin:finance_export_new"),
        {
            "kind": "grants",
            "format": "csv",
            "start": today(),
            "end": today() + timedelta(days=1),
        },
    )
    assert future.status_code == 200 and "未来" in future.content.decode()
    with pytest.raises(ExportRefused):
        request_export(
            kind="grants",
            format="csv",
            start=today(),
            end=today() - timedelta(days=1),
            user=finance_user,
        )
    assert not Export.objects.exists()


def test_staff_without_the_permission_cannot_ask(client, django_user_model):
    user = django_user_model.objects.create_user("auditor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_export"))
    client.force_login(user)
    assert client.get(reverse("admin:finance_export_new")).status_code == 403
    page = client.get(reverse("admin:finance_export_changelist")).content.decode()
    assert 'id="new-export"' not in page


def test_a_failed_export_leaves_no_file_and_says_so(finance_user, export_dir, monkeypatch):
    from finance import exports

    def broken(export):
        yield ("RG1",) * 14
        raise RuntimeError("the database went away")

    columns = exports.SOURCES["grants"].columns
    monkeypatch.setitem(exports.SOURCES, "grants", exports.Source(columns, broken))
    export = request_export(
        kind="grants", format="csv", start=today(), end=today(), user=finance_user
    )
    with pytest.raises(RuntimeError):
        write_export(export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and "went away" in export.error
    assert not list(Path(export_dir).iterdir())


def test_old_files_go_and_their_records_stay(finance_user, export_dir, settings):
    granted(1)
    export = write(finance_user)
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert remove_old_files() == 1
    assert not (Path(export_dir) / export.file_name).exists()
    assert Export.objects.get(pk=export.pk).status == "removed"


def test_a_file_with_full_phones_is_not_handed_to_someone_no_longer_allowed_them(
    client, finance_user
):
    granted(1)
    permission = Permission.objects.get(codename="view_full_phone")
    finance_user.user_permissions.add(permission)
    finance_user = type(finance_user).objects.get(pk=finance_user.pk)
    export = write(finance_user)
    assert export.full_phones
    finance_user.user_permissions.remove(permission)
    client.force_login(finance_user)
    url = reverse("admin:finance_export_download", args=[export.pk])
    assert client.get(url).status_code == 404


def test_an_export_whose_worker_died_is_failed_and_its_partial_file_removed(
    finance_user, export_dir
):
    from finance.services import WRITING_LIMIT, file_of

    export = request_export(
        kind="grants", format="csv", start=today(), end=today(), user=finance_user
    )
    Export.objects.filter(pk=export.pk).update(
        status="running", started_at=timezone.now() - timedelta(seconds=3 * WRITING_LIMIT)
    )
    partial = file_of(export).with_name(export.file_name + ".part")
    partial.write_text("half")
    remove_old_files()
    export.refresh_from_db()
    assert export.status == "failed" and not partial.exists()


def test_control_characters_and_full_width_formulas_do_not_break_or_run(
    finance_user, export_dir, admin_user
):
    from openpyxl import load_workbook

    from rewards.services import void_grant

    [grant] = granted(1, name="＝1+1")
    void_grant(grant, reason="bell\x07 and \x01 in a note", actor=admin_user)
    export = write(finance_user, format="xlsx")
    assert export.status == "done"
    rows = list(load_workbook(Path(export_dir) / export.file_name).active.values)
    assert rows[1][5] == "'＝1+1" and rows[1][14] == "bell and  in a note"


def test_a_friends_reward_names_the_inviter_and_says_whom_it_pays(finance_user, export_dir):
    friend_kind = CardKindFactory(code="JD10", name="JD 10", face_value=10)
    make_cards(friend_kind, 1)
    campaign = CampaignFactory(friend_card_kind=friend_kind)
    make_cards(campaign.card_kind, 1)
    invitation = qualified_invitation(
        campaign=campaign,
        inviter=CustomerFactory(phone="13800139999"),
        invitee_phone="15900009999",
    )
    grant_reward(invitation)

    header, *rows = csv_rows(write(finance_user), export_dir)

    paid_to, inviter, invitee = (header.index(name) for name in ("获奖对象", "邀请人", "被邀请人"))
    assert sorted((row[paid_to], row[inviter], row[invitee]) for row in rows) == [
        ("受邀好友", "138****9999", "159****9999"),
        ("邀请人", "138****9999", "159****9999"),
    ]
