from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_tools import (
    PrivateSearchMixin,
    ReadOnlyAdmin,
    StrictListMixin,
    actor_shown,
    reason_action,
)

from . import secrets
from .exceptions import CardImportRejected, CardPoolError
from .forms import CardImportForm
from .models import Card, CardBatch, CardEvent, CardKind, CardKindEvent, CardUpload
from .selectors import card_kinds_with_stock, counted_at
from .services import (
    confirm_upload,
    receive_upload,
    retry_check,
    reveal_card_secret,
    void_card,
)
from .services.upload_checks import sample_rows, upload_warnings
from .services.uploads import STALLED_AFTER, upload_problems
from .tasks import queue_check, queue_import


def is_ascii_digits(object_id) -> bool:
    """An id from the URL that int() and the <int:> routes take: "²" and "١" pass isdigit()."""
    text = str(object_id)
    return text.isascii() and text.isdigit()


@admin.register(CardKind)
class CardKindAdmin(StrictListMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "face_value",
        "is_active",
        "allocatable",
        "available",
        "assigned",
        "void",
        "expired",
        "low_stock_threshold",
    ]
    search_fields = ["code", "name"]
    list_filter = ["is_active"]

    def get_queryset(self, request):
        return card_kinds_with_stock(counted=True)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {**(extra_context or {}), "stock_counted_at": counted_at()}
        )

    def get_readonly_fields(self, request, obj=None):
        # switched off and on through the actions, with a reason; the face value is what every
        # grant of the kind was earned at, fixed once the kind exists
        return ["is_active", "face_value"] if obj else ["is_active"]

    @admin.display(description=_("allocatable"), ordering="allocatable_count")
    def allocatable(self, kind):
        low = kind.allocatable_count < kind.low_stock_threshold
        return (
            _("%(count)s ⚠ low") % {"count": kind.allocatable_count}
            if low
            else kind.allocatable_count
        )

    @admin.display(description=_("available"), ordering="available_count")
    def available(self, kind):
        return kind.available_count

    @admin.display(description=_("assigned"), ordering="assigned_count")
    def assigned(self, kind):
        return kind.assigned_count

    @admin.display(description=_("void"), ordering="void_count")
    def void(self, kind):
        return kind.void_count

    @admin.display(description=_("expired"), ordering="expired_count")
    def expired(self, kind):
        return kind.expired_count


@admin.register(CardBatch)
class CardBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "kind",
        "supplier",
        "row_count",
        "imported_by",
        "imported_at",
    ]
    list_filter = ["kind", "supplier"]
    search_fields = ["file_name", "supplier", "content_sha256"]
    list_select_related = ["kind", "imported_by"]

    def has_add_permission(self, request):
        return request.user.has_perm("cardpool.add_card")

    def get_urls(self):
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="cardpool_cardbatch_import",
            )
        ]
        return custom + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:cardpool_cardbatch_import")

    def import_view(self, request):
        """Upload: the file is stored encrypted and checked in the background; the manager is
        sent to the upload's page to watch the check, then confirm."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CardImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            file = form.cleaned_data["file"]
            try:
                upload = receive_upload(
                    kind=form.cleaned_data["kind"],
                    file_name=file.name,
                    chunks=file.chunks(),
                    supplier=form.cleaned_data["supplier"],
                    actor=request.user,
                )
            except CardImportRejected as rejected:
                form.add_error("file", [str(error) for error in rejected.errors])
            else:
                transaction.on_commit(lambda: queue_check(upload))
                return redirect("admin:cardpool_cardupload_change", upload.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import cards"),
            "form": form,
            "ttl": settings.CARD_UPLOAD_TTL_HOURS,
            "recent": CardUpload.objects.select_related("kind")[:5],
        }
        return TemplateResponse(request, "admin/cardpool/import.html", context)


@admin.register(CardUpload)
class CardUploadAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "kind",
        "supplier",
        "status",
        "row_count",
        "error_count",
        "uploaded_by",
        "created_at",
        "expires_at",
        "batch",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["file_name", "supplier", "content_sha256"]
    list_select_related = ["kind", "uploaded_by", "batch"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("cardpool.add_card")

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("<int:upload_id>/state/", view(self.state_view), name="cardpool_cardupload_state"),
            path(
                "<int:upload_id>/confirm/",
                view(self.confirm_view),
                name="cardpool_cardupload_confirm",
            ),
            path("<int:upload_id>/retry/", view(self.retry_view), name="cardpool_cardupload_retry"),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not is_ascii_digits(object_id):
            return super().change_view(request, object_id, form_url, extra_context)
        upload = get_object_or_404(
            CardUpload.objects.select_related("kind", "uploaded_by", "batch"), pk=object_id
        )
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Card upload %(upload)s") % {"upload": upload},
            "upload": upload,
            "percent": int(upload.progress * 100),
            "problems": upload_problems(upload),
            "warnings": upload_warnings(upload),
            "sample": sample_rows(upload),
            "more_problems": upload.error_count - len(upload.errors),
            "state_url": reverse("admin:cardpool_cardupload_state", args=[upload.pk]),
            "stalled": upload.status in (upload.Status.UPLOADED, upload.Status.IMPORTING)
            and timezone.now() - upload.updated_at > STALLED_AFTER,
        }
        return TemplateResponse(request, "admin/cardpool/upload.html", context)

    def state_view(self, request, upload_id):
        """What the upload page polls while the check or the import runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(CardUpload, pk=upload_id)
        return JsonResponse(
            {
                "status": upload.status,
                "status_label": str(upload.get_status_display()),
                "rows": upload.row_count,
                "percent": int(upload.progress * 100),
            }
        )

    def confirm_view(self, request, upload_id):
        return self._start(
            request,
            upload_id,
            lambda upload: confirm_upload(upload, actor=request.user, start=queue_import),
        )

    def retry_view(self, request, upload_id):
        def restart(upload: CardUpload) -> bool:
            if upload.status == CardUpload.Status.IMPORTING:
                return confirm_upload(upload, actor=request.user, start=queue_import)
            return retry_check(upload, start=queue_check)

        return self._start(request, upload_id, restart)

    def _start(self, request, upload_id, start):
        """A POSTed button that starts (or restarts) a task: ``start(upload)`` says if it did."""
        if request.method != "POST":
            return redirect("admin:cardpool_cardupload_change", upload_id)
        if not request.user.has_perm("cardpool.add_card"):
            raise PermissionDenied
        upload = get_object_or_404(CardUpload, pk=upload_id)
        if not start(upload):
            messages.warning(
                request,
                _("This upload is already being handled (%(status)s); nothing was started.")
                % {"status": upload.get_status_display()},
            )
        return redirect("admin:cardpool_cardupload_change", upload_id)


@admin.register(Card)
class CardAdmin(PrivateSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "kind", "masked_number", "valid_until", "status", "batch", "assigned_at"]
    list_filter = ["kind", "status", "valid_until", "batch"]
    list_select_related = ["kind", "batch__kind"]
    # Newest first: the pool is drawn oldest first, so the newest cards are the available ones,
    # and a status's first page is read from the right end of the primary key. In id order it
    # skipped every card drawn before (49 ms for the available ones at 1,000,000 cards, the
    # first 100,000 drawn); a status the planner finds rare is read through (status, id).
    ordering = ["-id"]
    # Numbers are stored encrypted; exact search goes through the keyed digest, with an exact
    # lookup: "=" is iexact, UPPER() on both sides, which no index serves (550 ms at 1,000,000
    # cards, a scan; the digest is lower-case hex either way).
    search_fields = ["number_digest__exact"]
    search_label = _("Exact card number.")
    normalize_search = staticmethod(secrets.number_digest)
    readonly_fields = [
        "kind",
        "batch",
        "masked_number",
        "valid_until",
        "status",
        "created_at",
        "updated_at",
        "assigned_at",
    ]
    fields = readonly_fields
    show_full_result_count = False  # COUNT(*) over a million cards on every page is wasted work

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("cardpool.view_card")

    @admin.display(description=_("card number"))
    def masked_number(self, card):
        return card.masked_number

    def get_urls(self):
        custom = [
            path(
                "<int:card_id>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="cardpool_card_reveal",
            )
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_reveal": request.user.has_perm("cardpool.reveal_card_secret"),
            "reveal_url": reverse("admin:cardpool_card_reveal", args=[object_id])
            if is_ascii_digits(object_id)
            else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def reveal_view(self, request, card_id):
        if not request.user.has_perm("cardpool.reveal_card_secret"):
            raise PermissionDenied
        card = get_object_or_404(Card, pk=card_id)
        if request.method != "POST":
            return redirect("admin:cardpool_card_change", card_id)
        number, password = reveal_card_secret(card, actor=request.user, reason="admin reveal")
        response = TemplateResponse(
            request,
            "admin/cardpool/reveal.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Card %(card)s") % {"card": card},
                "card": card,
                "number": number,
                "password": password,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    actions = [
        reason_action(
            "void_selected",
            _("Void selected available cards (asks for a reason)"),
            title=_("Void cards"),
            service=void_card,
            permission="cardpool.change_card",
            refusals=(CardPoolError,),
        )
    ]


@admin.register(CardEvent)
class CardEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "card",
        "action",
        "from_status",
        "to_status",
        actor_shown,
        "actor_label",
        "reason",
    ]
    list_filter = ["action", "created_at"]
    list_select_related = ["card__kind", "actor"]
    search_fields = ["=card__id", "reason"]
    show_full_result_count = False


@admin.register(CardKindEvent)
class CardKindEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "action", actor_shown, "reason"]
    list_filter = ["action"]
    list_select_related = ["kind", "actor"]
