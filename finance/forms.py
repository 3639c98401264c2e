from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Export


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Export"), choices=Export.Kind.choices, widget=forms.RadioSelect
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=Export.Format.choices,
        initial=Export.Format.XLSX,
        widget=forms.RadioSelect,
    )
    start = forms.DateField(
        label=_("From (Beijing time)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=_("To, inclusive"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends before it starts."))
        if end and end > timezone.localdate():
            self.add_error("end", _("The period cannot end in the future."))
        return cleaned
