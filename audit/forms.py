"""The audit page's filters. They only parse the query string; the QuerySet does the filtering."""

import datetime

from django import forms
from django.http import QueryDict
from django.utils import timezone

from portal.forms import USWDSForm

from .models import AuditEvent

# The filter fields, in the order they appear in links (pagination, export, back after verifying).
FILTER_FIELDS = ("rule", "person", "action", "outcome", "date_from", "date_to")


class AuditFilterForm(USWDSForm):
    rule = forms.ChoiceField(required=False, label="Rule", help_text="Any rule in the history")
    person = forms.ChoiceField(required=False, label="Person", help_text="Anyone who acted so far")
    action = forms.ChoiceField(required=False, label="Action", help_text="Any recorded so far")
    outcome = forms.ChoiceField(
        required=False,
        label="Outcome",
        help_text="Done or refused",
        choices=[("", "Any outcome"), *AuditEvent.Outcome.choices],
    )
    date_from = forms.DateField(
        required=False,
        label="From",
        help_text="First day included",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Keyset cursors: the page before (older than) or after (newer than) an event id.
    before = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, label="Page position", widget=forms.HiddenInput
    )
    after = forms.IntegerField(
        required=False, min_value=0, max_value=2**63 - 1, label="Page position", widget=forms.HiddenInput
    )

    def __init__(self, data=None, *, choices=None, time_zone=""):
        """`choices`: the actions, rules and people to offer, as AuditEvent.objects.filter_choices() gives them."""
        super().__init__(data)
        choices = choices or {}
        for name, anything, missing in (
            ("action", "Any action", "No recorded event has the action “%(value)s”; choose one from the list."),
            ("rule", "Any rule", "No recorded event is about the rule “%(value)s”; choose one from the list."),
            ("person", "Anyone", "No recorded event is by “%(value)s”; choose a person from the list."),
        ):
            self.fields[name].choices = [("", anything), *((value, value) for value in choices.get(name, ()))]
            self.fields[name].error_messages["invalid_choice"] = missing
        self.fields["date_to"].help_text = f"Last day included ({time_zone})" if time_zone else "Last day included"
        for name in ("date_from", "date_to"):
            self.fields[name].error_messages["invalid"] = "Enter a real date as YYYY-MM-DD, e.g. 2024-06-30."

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        if cleaned.get("before") is not None and cleaned.get("after") is not None:
            raise forms.ValidationError("A page is either before or after an event, not both.")
        return cleaned

    def apply(self, queryset):
        """The events matching the filters (the cursors are left to the caller)."""
        data = self.cleaned_data
        if data.get("rule"):
            queryset = queryset.filter(rule_slug=data["rule"])
        if data.get("person"):
            queryset = queryset.filter(actor_name=data["person"])
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("outcome"):
            queryset = queryset.filter(outcome=data["outcome"])
        start, end = _day_start(data.get("date_from")), _day_start(data.get("date_to"), next_day=True)
        if start is not None:
            queryset = queryset.filter(created_at__gte=start)
        if end is not None:
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def filter_query(self, **extra):
        """The filters as a query string (without cursors), with `extra` added: for links that keep them."""
        query = QueryDict(mutable=True)
        for name in FILTER_FIELDS:
            value = self.data.get(name, "") if self.is_bound else ""
            if value:
                query[name] = value
        for name, value in extra.items():
            query[name] = value
        return query.urlencode()

    @property
    def is_filtered(self):
        return any(self.cleaned_data.get(name) for name in FILTER_FIELDS)


def _day_start(day, *, next_day=False):
    """Midnight at the start of `day` (or of the day after) in the project's time zone; None if unbounded."""
    if day is None:
        return None
    try:
        if next_day:
            day += datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    except OverflowError:
        # 9999-12-31 has no next day: the range is open at that end.
        return None
