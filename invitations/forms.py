from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Campaign
from .phones import InvalidPhone, ascii_digits, normalize_phone


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return normalize_phone(value)
        except InvalidPhone as error:
            raise forms.ValidationError(str(error)) from None


class InviteeForm(forms.Form):
    phone = PhoneField(label=_("Your mobile number"))
    # unticked until the friend ticks it: their number is personal data (recorded when given)
    consent = forms.BooleanField(
        label=_("I agree that my number is used as described"),
        error_messages={
            "required": _("Please tick the box to agree; without it we cannot take your number.")
        },
    )


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code we sent you"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )

    def clean_code(self):
        # a code typed with a Chinese input method comes in full-width digits: the same code
        code = self.cleaned_data["code"]
        return ascii_digits(code) or code


class PhoneLoginForm(AuthenticationForm):
    """Customers log in with their mobile number, typed any common way (``+86 138-0013-8000``);
    the numeric keypad opens on phones."""

    username = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "username", "autofocus": True}
        ),
    )

    def clean_username(self):
        raw = self.cleaned_data["username"]
        try:
            return normalize_phone(raw)
        except InvalidPhone:
            return raw  # staff log in by name here too; a wrong one fails as any bad login


class PhoneOnlyForm(forms.Form):
    phone = PhoneField(label=_("Mobile number"))


class AttributionForm(forms.Form):
    """Staff attach a sign-up whose link to its inviter was lost."""

    inviter_phone = PhoneField(label=_("Inviter's mobile number"))
    invitee_phone = PhoneField(label=_("Invitee's mobile number"))
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.order_by("-starts_at")
    )
    signed_up_at = forms.DateTimeField(
        label=_("When the invitee signed up"),
        help_text=_("From the evidence (a screenshot, the app's log): YYYY-MM-DD HH:MM."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, and what proves it."),
    )
