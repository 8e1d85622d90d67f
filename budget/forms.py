"""The budget office's forms: they parse text only; the services validate amounts, years and files."""

from django import forms

from .services import FUND_CODE_MAX, FUND_NAME_MAX, NAME_MAX


class DatasetUploadForm(forms.Form):
    # An empty file goes through to the service, which refuses it with its reason and records it.
    file = forms.FileField(
        label="Population file (CSV or Parquet)",
        allow_empty_file=True,
        error_messages={"required": "Choose a CSV or Parquet file to upload."},
    )
    name = forms.CharField(label="Name", max_length=NAME_MAX, required=False)


class FundForm(forms.Form):
    """Text only: the service reads amounts and years itself, so its message is the one shown."""

    code = forms.CharField(label="Code", max_length=FUND_CODE_MAX, required=False)
    name = forms.CharField(label="Name", max_length=FUND_NAME_MAX, required=False)
    appropriation = forms.CharField(label="Appropriation (dollars)", max_length=40, required=False)
    fiscal_year = forms.CharField(label="Fiscal year", max_length=10, required=False)
