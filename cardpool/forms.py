from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CardKind
from .services.uploads import FILE_TOO_LARGE, MAX_UPLOAD_BYTES

FORMULA_PREFIXES = ("=", "+", "-", "@")


class CardImportForm(forms.Form):
    kind = forms.ModelChoiceField(
        label=_("Card kind"), queryset=CardKind.objects.filter(is_active=True)
    )
    supplier = forms.CharField(label=_("Supplier"), max_length=100, required=False)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK) or XLSX with card_no, card_password, valid_until."),
    )

    def clean_supplier(self):
        # Staff export batches to spreadsheets: a name starting like a formula would run there.
        supplier = self.cleaned_data["supplier"].strip()
        if supplier.startswith(FORMULA_PREFIXES):
            raise forms.ValidationError(_("A supplier name cannot start with = + - or @."))
        return supplier

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE.format(limit=MAX_UPLOAD_BYTES // 2**20))
        return upload
