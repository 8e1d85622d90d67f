"""The rule upload form. It only parses input; the services decide what is allowed."""

from django import forms

from engine.document import MAX_DOCUMENT_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Rule document (a .json file)",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    text = forms.CharField(
        required=False,
        strip=False,  # the bytes are the document: leave them as they were pasted
        label="Or paste the JSON",
        widget=forms.Textarea,
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text") or ""
        if upload and text.strip():
            raise forms.ValidationError("Choose a file or paste the JSON, not both.")
        if not upload and not text.strip() and not self.errors:
            raise forms.ValidationError("Choose a JSON file or paste the rule document.")
        if upload and upload.size > MAX_DOCUMENT_BYTES:
            # Refused before reading it into memory; the service would refuse it too.
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes (1 MiB)."
            )
        return cleaned

    def raw_bytes(self):
        upload = self.cleaned_data.get("file")
        if upload:
            return b"".join(upload.chunks())
        return self.cleaned_data["text"].encode("utf-8")
