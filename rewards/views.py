from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from invitations.models import Customer
from invitations.selectors import current_campaign, invitations_of

from .exceptions import RewardError
from .selectors import grants_of, points_balance
from .services import report_card_problem, reveal_grant_card


def _customer(request) -> Customer:
    customer = Customer.objects.filter(user=request.user).first()
    if customer is None:
        raise Http404("This page is for customers.")
    return customer


@login_required
def my_rewards(request):
    customer = _customer(request)
    context = {
        "customer": customer,
        "invite_url": request.build_absolute_uri(f"/i/{customer.invite_code}"),
        "campaign": current_campaign(),
        "balance": points_balance(customer),
        "grants": grants_of(customer)[:100],
        "invitations": invitations_of(customer).select_related("unrewarded")[:100],
    }
    return render(request, "rewards/my_rewards.html", context)


@login_required
@require_POST
def reveal_card(request, grant_no: str):
    customer = _customer(request)
    grant = get_object_or_404(grants_of(customer), grant_no=grant_no)  # invariant 10: own only
    try:
        number, password = reveal_grant_card(grant, customer)
    except RewardError as error:
        messages.error(request, str(error))
        return redirect("rewards:my_rewards")
    response = render(
        request, "rewards/card.html", {"grant": grant, "number": number, "password": password}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def report_card(request, grant_no: str):
    customer = _customer(request)
    grant = get_object_or_404(grants_of(customer), grant_no=grant_no)
    try:
        report_card_problem(grant, customer, request.POST.get("note", ""))
    except RewardError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Thank you: we are looking into card {grant.grant_no}. A replacement follows."
        )
    return redirect("rewards:my_rewards")
