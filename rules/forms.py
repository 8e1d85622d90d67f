"""The rule upload form. It only parses input; the services decide what is allowed."""

import hashlib

from django import forms

from engine.document import MAX_DOCUMENT_BYTES
from portal.forms import USWDSForm

TEXT_HINT = "Leave empty when you chose a file."


def _kept_hash(text):
    # Browsers send a text box's line ends as CRLF: compare the text, not its line ends.
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8", errors="surrogatepass")).hexdigest()


class UploadForm(USWDSForm):
    file = forms.FileField(
        required=False,
        label="Rule document (a .json file)",
        help_text="At most 1 MiB of strict JSON.",
        widget=forms.FileInput(attrs={"accept": ".json,application/json"}),
    )
    text = forms.CharField(
        required=False,
        strip=False,  # the bytes are the document: leave them as they were pasted
        label="Or paste the JSON",
        help_text=TEXT_HINT,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "pdp-code-input"}),
    )
    # The hash of a refused file's text that the page put in the box (see `keep_file`): a file
    # chosen again replaces that text instead of being refused as "both".
    kept = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text") or ""
        if upload and text.strip() and cleaned.get("kept") == _kept_hash(text):
            cleaned["text"] = text = ""
        if upload and text.strip():
            self.add_error("text", "Choose a file or paste the JSON, not both: empty this box to upload the file.")
        elif not upload and not text.strip() and not self.errors:
            self.add_error("file", "Choose a JSON file or paste the rule document.")
        if upload and upload.size > MAX_DOCUMENT_BYTES:
            # Refused before reading it into memory; the service would refuse it too.
            self.add_error(
                "file", f"The file is {upload.size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,} bytes (1 MiB)."
            )
        return cleaned

    @property
    def source(self):
        """The field the document came from: "file" or "text"."""
        return "file" if self.cleaned_data.get("file") else "text"

    def raw_bytes(self):
        upload = self.cleaned_data.get("file")
        if upload:
            return b"".join(upload.chunks())
        return self.cleaned_data["text"].encode("utf-8")

    def keep_file(self):
        """After a refused file: put its text in the box, so that it is not lost and can be corrected there.

        A browser never shows a chosen file again, so the page would come back with neither. Returns
        the file's name when its text is in the box; None when it cannot be (not UTF-8 text).
        """
        upload = self.cleaned_data.get("file")
        try:
            text = self.raw_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return None
        data = self.data.copy()
        data["text"], data["kept"] = text, _kept_hash(text)
        self.data = data
        # The bound field read its hint when the form was validated.
        self["text"].help_text = (
            f"The text of {upload.name}, as you chose it: correct it here and upload, "
            "or correct the file and choose it again."
        )
        return upload.name
