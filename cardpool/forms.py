from django import forms

from .models import CardKind

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class CardImportForm(forms.Form):
    kind = forms.ModelChoiceField(queryset=CardKind.objects.filter(is_active=True))
    supplier = forms.CharField(max_length=100, required=False)
    file = forms.FileField(
        help_text="CSV (UTF-8 or GBK) or XLSX with card_no, card_password, valid_until."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB; split it into batches.")
        return upload


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason
