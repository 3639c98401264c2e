"""``{% fast_result_list cl %}``: Django's ``{% result_list cl %}`` with the rows written by
``core.admin_rows`` (templates/admin/change_list.html uses it for every staff list)."""

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers, result_list
from django.contrib.admin.templatetags.base import InclusionAdminNode

from core.admin_rows import fast_rows

register = template.Library()


def _result_list(cl) -> dict:
    rows = fast_rows(cl)
    if rows is None:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {  # Django's context, each row one string (templates/admin/change_list_results.html)
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
        "rows_written": True,
    }


@register.tag(name="fast_result_list")
def fast_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
