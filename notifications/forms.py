from django import forms
from django.conf import settings

from .models import Channel, Preference


class PreferenceForm(forms.ModelForm):
    """How to be told; app notifications only where a push gateway is configured."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.PUSH_SENDER:
            self.fields["channel"].choices = [
                choice for choice in self.fields["channel"].choices if choice[0] != Channel.PUSH
            ]

    class Meta:
        model = Preference
        fields = ["channel", "reminders", "language"]
        widgets = {"channel": forms.RadioSelect}
