from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from referral_site.admin_tools import ReadOnlyAdmin, actor_shown, reason_action

from . import secrets, uploads
from .exceptions import CardImportRejected, CardPoolError
from .forms import CardImportForm
from .models import Card, CardBatch, CardEvent, CardKind
from .selectors import card_kinds_with_stock
from .services import import_cards, preview_cards, reveal_card_secret, void_card

PREVIEW_ERROR_LIMIT = 200


@admin.register(CardKind)
class CardKindAdmin(admin.ModelAdmin):
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

    def get_queryset(self, request):
        return card_kinds_with_stock()

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
        """Upload → preview (nothing written) → confirm (all rows or none)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import cards"),
            "error_limit": PREVIEW_ERROR_LIMIT,
        }
        if request.method == "POST" and request.POST.get("step") == "confirm":
            return self._confirm(request, context)
        form = CardImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            preview = preview_cards(
                kind=form.cleaned_data["kind"], file_name=upload.name, content=content
            )
            context["preview"] = preview
            context["shown_errors"] = preview.errors[:PREVIEW_ERROR_LIMIT]
            if preview.is_valid:
                context["token"] = uploads.stash(content)
            context["supplier"] = form.cleaned_data["supplier"]
        context["form"] = form
        return TemplateResponse(request, "admin/cardpool/import.html", context)

    def _confirm(self, request, context):
        token = request.POST.get("token", "")
        content = uploads.take(token)
        kind = CardKind.objects.filter(pk=request.POST.get("kind")).first()
        if content is None or kind is None:
            messages.error(
                request, _("The upload expired or was already imported; upload it again.")
            )
            return redirect("admin:cardpool_cardbatch_import")
        try:
            batch = import_cards(
                kind=kind,
                file_name=request.POST.get("file_name", "upload")[:255],
                content=content,
                supplier=request.POST.get("supplier", "")[:100],
                actor=request.user,
            )
        except CardImportRejected as rejected:
            uploads.discard(token)
            context["form"] = CardImportForm()
            context["rejected"] = rejected.errors[:PREVIEW_ERROR_LIMIT]
            return TemplateResponse(request, "admin/cardpool/import.html", context)
        uploads.discard(token)
        messages.success(
            request,
            _("Imported %(count)s %(kind)s cards as batch #%(batch)s.")
            % {"count": batch.row_count, "kind": kind.code, "batch": batch.pk},
        )
        return redirect("admin:cardpool_cardbatch_change", batch.pk)


@admin.register(Card)
class CardAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "masked_number", "valid_until", "status", "batch", "assigned_at"]
    list_filter = ["kind", "status", "valid_until", "batch"]
    list_select_related = ["kind", "batch__kind"]
    search_fields = ["=number_digest"]
    search_help_text = _("Exact card number.")
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

    def get_search_results(self, request, queryset, search_term):
        # Numbers are stored encrypted; exact search goes through the keyed digest.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(number_digest=secrets.number_digest(term)), False

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
            if str(object_id).isdigit()
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
