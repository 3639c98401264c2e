from django import forms

from .models import Channel, Preference
from .services import push_offered


class PreferenceForm(forms.ModelForm):
    """How to be told; app notifications only to those the app's push gateway knows."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not push_offered(self.instance.user_id):
            self.fields["channel"].choices = [
                choice for choice in self.fields["channel"].choices if choice[0] != Channel.PUSH
            ]

    class Meta:
        model = Preference
        fields = ["channel", "reminders", "language"]
        widgets = {"channel": forms.RadioSelect}
