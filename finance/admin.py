from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_tools import ReadOnlyAdmin, shown_user

from .exceptions import ExportRefused
from .forms import ExportForm
from .models import Export
from .services import hand_over, request_export


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    """Every export asked for: who, what, which period, how far it got. "New export" asks for
    one (written by the worker cluster: refresh to see it progress); its file is downloaded by
    whoever asked, for ``EXPORT_KEEP_DAYS``."""

    list_display = [
        "created_at",
        "kind",
        "period_start",
        "period_end",
        "format",
        "full_phones",
        "requester",
        "status",
        "rows",
        "download",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]
    show_full_result_count = False
    change_list_template = "admin/finance/export/change_list.html"

    @admin.display(description=_("requested by"))
    def requester(self, export: Export) -> str:
        return shown_user(export.requested_by)

    @admin.display(description=_("file"))
    def download(self, export: Export) -> str:
        if export.status != Export.Status.DONE:
            return export.error[:80] if export.status == Export.Status.FAILED else "—"
        url = reverse("admin:finance_export_download", args=[export.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("new/", wrap(self.new_view), name="finance_export_new"),
            path("<int:pk>/download/", wrap(self.download_view), name="finance_export_download"),
            *super().get_urls(),
        ]

    def new_view(self, request):
        if not request.user.has_perm("finance.add_export"):
            raise PermissionDenied
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                request_export(
                    kind=data["kind"],
                    format=data["format"],
                    start=data["start"],
                    end=data["end"],
                    user=request.user,
                )
            except ExportRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(
                    request,
                    _("Export queued: it is written in the background; refresh to see it done."),
                    messages.SUCCESS,
                )
                return redirect("admin:finance_export_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("New export"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/finance/export/new.html", context)

    def download_view(self, request, pk: int):
        export = get_object_or_404(Export, pk=pk)
        try:
            path_ = hand_over(export, request.user)
            stream = path_.open("rb")
        except (ExportRefused, FileNotFoundError) as refusal:  # removed meanwhile, too
            raise Http404(str(refusal)) from None
        response = FileResponse(stream, as_attachment=True, filename=export.file_name)
        response["Cache-Control"] = "no-store"
        return response

    def has_add_permission(self, request):
        return False  # through "New export", which asks for finance.add_export
