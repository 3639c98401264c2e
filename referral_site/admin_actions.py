"""Admin actions that need a reason: ask for it on an intermediate page, then apply a service to
each selected object and report what was done and what was refused."""

from collections.abc import Callable

from django.contrib import messages
from django.template.response import TemplateResponse

from cardpool.forms import ReasonForm


def with_reason(
    modeladmin,
    request,
    queryset,
    *,
    title: str,
    action: str,
    apply: Callable,
    refusals: tuple[type, ...],
):
    """``apply(obj, reason)`` is called per object in primary-key order; exceptions of the
    ``refusals`` types are shown as warnings, the rest go on."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done, refused = 0, []
        for obj in queryset.order_by("pk"):
            try:
                apply(obj, form.cleaned_data["reason"])
                done += 1
            except refusals as error:
                refused.append(f"{obj}: {error}")
        modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        for message in refused[:20]:
            modeladmin.message_user(request, message, messages.WARNING)
        return None
    return TemplateResponse(
        request,
        "admin/reason_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": title,
            "objects": queryset,
            "form": form,
            "action": action,
        },
    )
