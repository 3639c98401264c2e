from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from ..exceptions import PhoneTaken
from ..models import Customer
from ..phones import InvalidPhone, normalize_phone


@transaction.atomic
def register_customer(phone: str, password: str | None) -> Customer:
    """Create a site user and its customer record. Raises ``InvalidPhone`` and ``PhoneTaken``.
    The pages make customers without a password (``customer_user_for_phone``); the demo's data
    gives its customer one.

    The user name is the normalized phone; the invite code is random (50 bits) and unique by
    constraint."""
    normalized = normalize_phone(phone)
    if Customer.objects.filter(phone=normalized).exists():
        raise PhoneTaken()
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=normalized, password=password)
            return Customer.objects.create(user=user, phone=normalized)
    except IntegrityError:
        if Customer.objects.filter(phone=normalized).exists():
            raise PhoneTaken() from None
        raise


def customer_user_for_phone(phone: str):
    """The user of the customer with this phone, made now (no password: they come from the
    brokerage's app) if there is none; None for a number the site does not take. Named by
    ``SIGNIN_CUSTOMER_USER`` for the app's hand-off (``signin``)."""
    try:
        normalized = normalize_phone(phone)
    except InvalidPhone:
        return None
    customer = Customer.objects.select_related("user").filter(phone=normalized).first()
    return (customer or _made_for(normalized)).user


def _made_for(phone: str) -> Customer:
    """A customer for a stored number, made now without a password, or the one another
    transaction made for it a moment ago."""
    try:
        return register_customer(phone, None)
    except PhoneTaken:
        return Customer.objects.select_related("user").get(phone=phone)


def customers_for_phones(phones: list[str]) -> dict[str, int]:
    """Each phone's customer id (stored numbers, ``invitations.phones``), the missing ones made
    now without a password: the friend a campaign rewards is paid as a customer, and sees the
    reward on the referral pages once they sign in with that number. In the caller's
    transaction; two transactions making one customer meet at the unique phone, and the second
    reads the first's."""
    wanted = sorted(set(phones))
    if not wanted:
        return {}
    found = dict(Customer.objects.filter(phone__in=wanted).values_list("phone", "pk"))
    for phone in wanted:
        if phone not in found:
            found[phone] = _made_for(phone).pk
    return found
