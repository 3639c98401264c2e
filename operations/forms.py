from django import forms
from django.utils.translation import gettext_lazy as _

from invitations.forms import PhoneField

from .models import DataRequest


class PersonRequestForm(forms.Form):
    phone = PhoneField(label=_("The person's mobile number"))
    action = forms.ChoiceField(
        label=_("Request"), choices=DataRequest.Action.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason (the request's reference, who asked and how)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )
    confirm_erase = forms.BooleanField(
        required=False,
        label=_("I understand an erasure cannot be undone"),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == DataRequest.Action.ERASE and not cleaned.get("confirm_erase"):
            self.add_error("confirm_erase", _("Tick this to erase."))
        return cleaned
