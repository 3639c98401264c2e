from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CardProblem


class CardReportForm(forms.Form):
    problem = forms.ChoiceField(
        label=_("What is wrong?"), choices=CardProblem.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Anything else we should know (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PasswordAgainForm(forms.Form):
    password = forms.CharField(
        label=_("Your login password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
