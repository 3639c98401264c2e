"""The in-site inbox: every message to the signed-in person, and how they want to be told."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import texts
from .forms import PreferenceForm
from .models import Message, Preference
from .services import mark_read

PAGE_SIZE = 20


def _form(request, data=None) -> PreferenceForm:
    preference = Preference.objects.filter(user=request.user).first() or Preference(
        user=request.user
    )
    return PreferenceForm(data, instance=preference)


def _render(request, form, status=200):
    page = Paginator(
        Message.objects.filter(recipient=request.user).order_by("-created_at", "-pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    language = get_language()
    items = [
        {"text": texts.text(m.kind, m.params, language), "at": m.created_at, "new": not m.read_at}
        for m in page.object_list
    ]
    mark_read(request.user.pk)  # seen now: the count in the navigation goes
    context = {"page": page, "items": items, "form": form}
    return render(request, "notifications/inbox.html", context, status=status)


@login_required
@require_GET
def inbox(request):
    return _render(request, _form(request))


@login_required
@require_POST
def preferences(request):
    form = _form(request, request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)  # the choice made is kept, with the error
    form.save()
    messages.success(request, _("Saved: we will tell you that way."))
    return redirect("notifications:inbox")
