"""Shared admin pieces: strict lists, read-only model admins, and actions that ask for a
reason."""

import logging
import secrets
from collections.abc import Callable
from types import SimpleNamespace

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import F, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.middleware import current_user
from core.paginators import LargeTablePaginator
from core.privacy import FULL_PHONE_PERMISSION, PRIVATE_FIELDS, mask_phone

security_log = logging.getLogger("django.security.DisallowedModelAdminLookup")


def shown_phone(phone: str) -> str:
    """A phone number as this member of staff may see it: whole with the "view full phone
    numbers" permission, masked otherwise (phones are personal data)."""
    user = current_user.get()
    if user is not None and user.has_perm(FULL_PHONE_PERMISSION):
        return phone
    return mask_phone(phone)


@admin.display(description=_("actor"))
def actor_shown(event) -> str:
    """An event's actor; a customer's user name is their phone, so it is shown as a phone."""
    if event.actor is None:
        return "-"
    return shown_user(event.actor)


def shown_user(user) -> str:
    """A user name as this member of staff may see it (a customer's is their phone)."""
    name = user.get_username()
    return shown_phone(name) if name.isdigit() and len(name) == 11 else name


class ReasonForm(forms.Form):
    """Every staff action asks for this first. Blank or whitespace only is refused (the field
    strips); the services check it again (``cardpool.exceptions.required_reason``)."""

    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )


class StrictChangeList(ChangeList):
    """A list filtered only by the filters it offers, never sorted by a private column.

    Django applies any query-string key its ``lookup_allowed`` accepts, and it accepts every
    lookup on the model's own fields: ``?invitee_phone__startswith=139``, ``__regex``, ``__gt``
    narrow a masked number digit by digit. Here a parameter that no filter of the list
    consumed (a ``list_filter``'s own parameters, the date hierarchy's year, month and day) is
    refused (``DisallowedModelAdminLookup``; ``StrictListMixin`` answers 400 with a message)
    before any row is read. ``?o=N`` sorts by a column only if ``get_sortable_by`` names it
    (Django checks that for the header's links only), and whatever asked for it, an order by
    a column in ``PRIVATE_FIELDS`` is dropped."""

    def get_filters(self, request):
        given = set(self.get_filters_params())
        specs, has_filters, remaining, duplicates, active = super().get_filters(request)
        built = set()  # what the date hierarchy turned its year, month and day into
        if self.date_hierarchy and f"{self.date_hierarchy}__year" in given:
            built = {f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"}
        unoffered = (set(remaining) - built) | (given & built)
        if unoffered:
            raise DisallowedModelAdminLookup(sorted(unoffered)[0])
        return specs, has_filters, remaining, duplicates, active

    def get_ordering_field(self, field_name):
        if field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        kept = [part for part in ordering if not _touches_private(self.model, part)]
        return kept if len(kept) == len(ordering) else [*kept, "-pk"]  # still a total order


def _touches_private(model, ordering, *, hops: int = 3) -> bool:
    """Whether sorting ``model`` by ``ordering`` (a path, an expression, or a relation, which
    sorts by the related model's own ordering) sorts by a column in ``PRIVATE_FIELDS``."""
    if isinstance(ordering, F):
        ordering = ordering.name
    if hasattr(ordering, "flatten"):
        return any(
            _touches_private(model, part.name, hops=hops)
            for part in ordering.flatten()
            if isinstance(part, F)
        )
    if not isinstance(ordering, str) or hops <= 0:
        return False
    for part in ordering.lstrip("-").split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.name in PRIVATE_FIELDS:
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return any(_touches_private(model, related, hops=hops - 1) for related in model._meta.ordering)


class StrictListMixin:
    """Every staff list: filtered only as it offers, never sorted by a phone, a user name (a
    customer's is their phone), a card number or digest (``StrictChangeList``), for everybody.
    ``tests/foundation/test_admin_lookups.py`` checks every list of the project has it.

    Fast at a million rows: counted exactly only while small, paged only as deep as an index
    reads cheaply (``LargeTablePaginator``), and each row's checkbox written directly."""

    paginator = LargeTablePaginator
    list_per_page = 50  # Django's 100 rows are 100 rows rendered on every page opened
    show_full_result_count = False  # a second count, of the whole table, on every page

    def action_checkbox(self, obj):
        # Django's, without a form widget rendered through the template engine for each row (a
        # quarter of a 100-row list's time); the same HTML (tests/foundation/test_admin_lists.py)
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), self.row_label(obj)),
        )

    def row_label(self, obj) -> str:
        """How the row's checkbox names its object to a screen reader (Django: ``str(obj)``)."""
        return str(obj)

    def get_changelist(self, request, **kwargs):
        return StrictChangeList

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except DisallowedModelAdminLookup as refused:  # Django's own refusals too
            parameter = str(refused).removeprefix("Filtering by ").removesuffix(" not allowed")
            security_log.warning(
                "Unoffered list parameter %r by user %s", parameter[:100], request.user.pk
            )
            return TemplateResponse(
                request,
                "admin/refused_lookup.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": _("This list cannot be filtered that way"),
                    "message": _(
                        "This list cannot be filtered by “%(parameter)s”: use the filters "
                        "beside it or its search box. Nothing was filtered."
                    )
                    % {"parameter": parameter[:100]},
                    "list_url": request.path,
                },
                status=400,
            )

    def get_sortable_by(self, request):
        # which column sorts by what, as the changelist reads it
        reading = SimpleNamespace(lookup_opts=self.opts, model_admin=self, model=self.model)
        sortable = []
        for column in super().get_sortable_by(request):
            try:
                ordering = ChangeList.get_ordering_field(reading, column)
            except AttributeError:
                continue
            if not _touches_private(self.model, ordering):
                sortable.append(column)
        return sortable


class ReadOnlyAdmin(StrictListMixin, admin.ModelAdmin):
    """State changes go through services (actions, import); nothing is edited in a form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """History shown on its parent's page: nothing added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def with_reason(
    modeladmin,
    request,
    queryset,
    *,
    title: str,
    action: str,
    apply: Callable,
    refusals: tuple[type, ...],
    permission: str,
    form_class: type[forms.Form] | None = None,
):
    """Ask for a reason (and what else ``form_class``, a ``ReasonForm``, asks) on an intermediate
    page, then call ``apply(obj, reason, **other fields)`` for each object in primary-key order;
    exceptions of the ``refusals`` types are shown as warnings and the others go on. Refused
    outright without ``permission``."""
    if not request.user.has_perm(permission):
        raise PermissionDenied
    form = (form_class or ReasonForm)(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done, refused = 0, []
        fields = dict(form.cleaned_data)
        reason = fields.pop("reason")
        for obj in queryset.order_by("pk"):
            try:
                apply(obj, reason, **fields)
                done += 1
            except refusals as error:
                refused.append(f"{obj}: {error}")
        modeladmin.message_user(
            request,
            _("%(title)s: %(done)s done.") % {"title": title, "done": done},
            messages.SUCCESS,
        )
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


def reason_action(
    code: str,
    description,
    *,
    title,
    service: Callable,
    permission: str,
    refusals: tuple[type, ...] = (),
    argument: str = "reason",
    form_class: type[forms.Form] | None = None,
    **service_kwargs,
):
    """An admin action that asks for a reason (``with_reason``; ``form_class`` may ask more),
    then calls ``service(obj, <argument>=reason, actor=<the staff member>, **the form's other
    fields, **service_kwargs)`` for each selected object. Every staff action is one of these."""

    def action(modeladmin, request, queryset):
        return with_reason(
            modeladmin,
            request,
            queryset,
            title=title,
            action=code,
            apply=lambda obj, reason, **fields: service(
                obj, **{argument: reason}, actor=request.user, **fields, **service_kwargs
            ),
            refusals=refusals,
            permission=permission,
            form_class=form_class,
        )

    action.__name__ = code
    return admin.action(description=description)(action)


PRIVATE_SEARCH_VAR = "found"
KEPT_SEARCHES = 20


class PrivateSearchMixin(StrictListMixin):
    """The list's search box posts its term (a full phone or card number) instead of putting it
    in the URL, where access logs, browser history and the Referer header would keep it. The
    term is kept in the session under a random token; the list is shown at ``?found=<token>``.

    Searches as ``search_fields`` say, except that a list whose fields are all exact (``=``)
    matches them by equalities an index serves (``_exact_matches``); ``normalize_search(term)``
    (a staticmethod) may rewrite the term first (a phone typed with spaces), returning None to
    leave it as typed. The box is
    drawn by templates/admin/change_list.html when ``private_search_url`` is in the context."""

    search_label = _("Search")
    normalize_search: Callable[[str], str | None] | None = None

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_private_search"
        return [
            path("search/", self.admin_site.admin_view(self.private_search_view), name=name),
            *super().get_urls(),
        ]

    def private_search_view(self, request):
        opts = self.model._meta
        changelist = f"admin:{opts.app_label}_{opts.model_name}_changelist"
        if request.method != "POST":
            return redirect(changelist)
        term = request.POST.get("term", "").strip()[:200]
        if not term:
            return redirect(changelist)
        token = secrets.token_urlsafe(8)
        searches = dict(list(request.session.get("private_searches", {}).items())[-KEPT_SEARCHES:])
        searches[token] = term
        request.session["private_searches"] = searches
        return redirect(f"{reverse(changelist)}?{urlencode({PRIVATE_SEARCH_VAR: token})}")

    def changelist_view(self, request, extra_context=None):
        term = ""
        if PRIVATE_SEARCH_VAR in request.GET:
            request.GET = request.GET.copy()
            token = request.GET.pop(PRIVATE_SEARCH_VAR)[0]
            term = request.session.get("private_searches", {}).get(token, "")
            request.private_search = term
        opts = self.model._meta
        extra_context = {
            **(extra_context or {}),
            "private_search_term": term,
            "private_search_label": self.search_label,
            "private_search_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_private_search"
            ),
        }
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        term = getattr(request, "private_search", None)
        if term is None:
            return super().get_search_results(request, queryset, search_term)
        if self.normalize_search is not None:
            term = self.normalize_search(term) or term
        if term and all(field.startswith("=") for field in self.search_fields):
            return queryset.filter(self._exact_matches(term)), False
        return super().get_search_results(request, queryset, term)

    def _exact_matches(self, term: str) -> Q:
        """Every ``=field`` as equalities an index serves, for the term as typed and in capitals
        (grant numbers and invite codes are written in capitals). Django's ``=`` is iexact,
        UPPER() on both sides, which no index serves: a scan (577 ms for a phone among 1,000,000
        invitations). A field across a relation is looked up first, its ids then matched: an OR
        across a join is a scan too."""
        values = list(dict.fromkeys([term, term.upper()]))
        matches = Q()
        for field in self.search_fields:
            relation, _, name = field.removeprefix("=").partition("__")
            if not name:
                matches |= Q(**{f"{relation}__in": values})
                continue
            related = self.model._meta.get_field(relation).related_model
            found = related._default_manager.filter(**{f"{name}__in": values}).values_list("pk")
            matches |= Q(**{f"{relation}__in": [pk for (pk,) in found[:1000]]})
        return matches
