import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from core.admin_tools import ReadOnlyAdmin, actor_shown

from .forms import PersonRequestForm
from .models import DataRequest
from .services.personal_data import erase_person, export_person

PERMISSIONS = {
    DataRequest.Action.EXPORT: "operations.export_person",
    DataRequest.Action.ERASE: "operations.erase_person",
}


@admin.register(DataRequest)
class DataRequestAdmin(ReadOnlyAdmin):
    """Personal-data requests carried out: who, when, why, what was done. "Export or erase a
    person" carries out a new one (each needs its own permission)."""

    list_display = ["created_at", "action", "phone_masked", actor_shown, "reason", "summary"]
    list_filter = ["action"]
    fields = ["created_at", "action", "phone_masked", actor_shown, "reason", "summary"]
    readonly_fields = fields
    show_full_result_count = False
    change_list_template = "admin/operations/datarequest/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.person_view)
        return [path("person/", view, name="operations_person_request"), *super().get_urls()]

    def person_view(self, request):
        if not any(request.user.has_perm(name) for name in PERMISSIONS.values()):
            raise PermissionDenied
        form = PersonRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if not request.user.has_perm(PERMISSIONS[data["action"]]):
                raise PermissionDenied
            if data["action"] == DataRequest.Action.EXPORT:
                document = export_person(data["phone"], reason=data["reason"], actor=request.user)
                response = HttpResponse(
                    json.dumps(document, ensure_ascii=False, indent=1),
                    content_type="application/json; charset=utf-8",
                )
                response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
                response["Cache-Control"] = "no-store"
                return response
            summary = erase_person(data["phone"], reason=data["reason"], actor=request.user)
            self.message_user(
                request, _("Erased: %(summary)s") % {"summary": summary}, messages.SUCCESS
            )
            return redirect("admin:operations_datarequest_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export or erase a person"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/operations/person_request.html", context)
