from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CardKind

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class CardImportForm(forms.Form):
    kind = forms.ModelChoiceField(
        label=_("Card kind"), queryset=CardKind.objects.filter(is_active=True)
    )
    supplier = forms.CharField(label=_("Supplier"), max_length=100, required=False)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK) or XLSX with card_no, card_password, valid_until."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it into batches."))
        return upload
