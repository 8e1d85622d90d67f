"""The budget office's forms: they parse text only; the services validate amounts, years and files."""

from django import forms

from portal.forms import USWDSForm

from .services import DATASET_NAME_MISSING, FISCAL_YEARS, FUND_CODE_MAX, FUND_NAME_MAX, NAME_MAX


class DatasetUploadForm(USWDSForm):
    # An empty file goes through to the service, which refuses it with its reason and records it.
    file = forms.FileField(
        label="Population file (CSV or Parquet)",
        allow_empty_file=True,
        error_messages={"required": "Choose a CSV or Parquet file to upload."},
        widget=forms.FileInput(attrs={"accept": ".csv,.parquet,.pq,text/csv"}),
    )
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        required=False,
        help_text="How the dataset is listed, such as “Census sample 2024”.",
    )

    def __init__(self, *args, max_size="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = f".csv or .parquet, at most {max_size}." if max_size else ".csv or .parquet."

    def clean(self):
        cleaned = super().clean()
        # Without a file the service is not asked, so the name it would also refuse is refused here:
        # every problem at once. With a file, the service judges both.
        if "file" in self.errors and not (cleaned.get("name") or "").strip():
            self.add_error("name", DATASET_NAME_MISSING)
        return cleaned


class FundForm(USWDSForm):
    """Text only: the service reads amounts and years itself, so its messages are the ones shown."""

    code = forms.CharField(
        label="Code",
        max_length=FUND_CODE_MAX,
        required=False,
        help_text="Upper-case letters and digits joined by - or _, like DRF-FY2025. "
        "Rules cite it, so it cannot change later.",
    )
    name = forms.CharField(label="Name", max_length=FUND_NAME_MAX, required=False)
    appropriation = forms.CharField(
        label="Appropriation (dollars)",
        max_length=40,
        required=False,
        help_text="Not negative, at most cents, like 120000000 or 2,500,000.50.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    fiscal_year = forms.CharField(
        label="Fiscal year",
        max_length=10,
        required=False,
        help_text=f"Between {FISCAL_YEARS[0]} and {FISCAL_YEARS[1]}.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "usa-input--small"}),
    )
