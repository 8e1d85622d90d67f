"""The form that adds an endpoint: text only; the service checks the URL and the filter and names the field."""

from django import forms

from portal.forms import USWDSForm

from .models import WebhookDelivery
from .services import NAME_MAX, URL_MAX


class EndpointForm(USWDSForm):
    name = forms.CharField(
        label="Name", max_length=NAME_MAX, required=False, help_text="Such as “SIEM” or “Compliance archive”."
    )
    url = forms.CharField(
        label="URL",
        max_length=URL_MAX,
        required=False,
        help_text="Where each event is posted, like https://siem.example.org/pdp. Private and loopback addresses are refused.",
        widget=forms.URLInput(),
    )
    events = forms.CharField(
        label="Events",
        max_length=4000,
        required=False,
        help_text="Action names (release.promote) or prefixes ending in a dot (release.), separated by commas; "
        "empty sends every event.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StateFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "every state"), *WebhookDelivery.State.choices], required=False)
