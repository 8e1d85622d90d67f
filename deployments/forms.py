"""Deployment forms. They only parse input; the services decide what is allowed."""

from django import forms


class PromoteForm(forms.Form):
    # Without a version: the one on staging goes to production. With one: deploy it again there.
    environment = forms.CharField(max_length=30, required=False)
    version = forms.IntegerField(min_value=1, max_value=999_999_999, required=False)
    note = forms.CharField(max_length=2000, required=False)
    back = forms.CharField(max_length=20, required=False)


class RollbackForm(forms.Form):
    environment = forms.CharField(max_length=30, required=False)
    to = forms.CharField(max_length=20, required=False)
    reason = forms.CharField(max_length=2000, required=False)
    # What the page showed live on each environment; a pointer that moved meanwhile is refused.
    seen_staging = forms.CharField(max_length=20, required=False)
    seen_production = forms.CharField(max_length=20, required=False)
