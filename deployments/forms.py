"""Deployment forms. They only parse input; the services decide what is allowed."""

from django import forms

from portal.forms import USWDSForm


class VersionField(forms.IntegerField):
    """A version number in ASCII digits: Django's int() would read "١" (Arabic-Indic one) as 1."""

    def to_python(self, value):
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class PromoteForm(forms.Form):
    # Without a version: the one on staging goes to production. With one: deploy it again there.
    environment = forms.CharField(max_length=30, required=False)
    version = VersionField(min_value=1, max_value=999_999_999, required=False)
    note = forms.CharField(max_length=2000, required=False)
    back = forms.CharField(max_length=20, required=False)


# What a browser's datetime-local control sends ("2027-01-01T00:00"), read in the portal's time zone.
LOCAL_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ScheduleForm(forms.Form):
    """Schedule a promotion: the promote dialog's fields and the time it is to happen."""

    environment = forms.CharField(max_length=30, required=False)
    version = VersionField(min_value=1, max_value=999_999_999, required=False)
    at = forms.DateTimeField(
        input_formats=LOCAL_TIME_FORMATS,
        error_messages={"required": "Choose the date and time to promote at.", "invalid": "Enter a date and time."},
    )
    note = forms.CharField(max_length=2000, required=False)
    back = forms.CharField(max_length=20, required=False)


class BackForm(forms.Form):
    back = forms.CharField(max_length=20, required=False)


class PlaceSelect(forms.Select):
    """A list of environments whose options carry what each serves (`places`: value → data attributes).

    The rollback's confirmation reads them to name the move, and refuses a no-op before it opens;
    an environment serving nothing is offered disabled.
    """

    def __init__(self, *args, places=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.places = places or {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        option["attrs"].update(self.places.get(value, {}))
        return option


class RollbackForm(USWDSForm):
    """Roll back: where, to which version, and why. The page fills the lists (deployments.views)."""

    environment = forms.CharField(max_length=30, required=False, label="Environment", widget=PlaceSelect)
    to = forms.CharField(max_length=20, required=False, label="Go back to", widget=forms.Select)
    reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Reason",
        help_text="Required; recorded with the rollback.",
        # The browser asks for it before the confirmation opens; the service insists.
        widget=forms.Textarea(attrs={"rows": 2, "required": True}),
    )
    # What the page showed live on each environment; a pointer that moved meanwhile is refused.
    # The page writes them from what it shows now, also when it shows a refused form again.
    seen_staging = forms.CharField(max_length=20, required=False, widget=forms.HiddenInput)
    seen_production = forms.CharField(max_length=20, required=False, widget=forms.HiddenInput)

    def offer(self, *, environments, targets):
        """Fill the lists: `environments` and `targets` as deployments.views._rollback_panel lists them."""
        place = self.fields["environment"].widget
        place.choices = [
            (env["value"], f"{env['label']}, serving {env['current'] if env['serves'] else 'nothing (v0)'}")
            for env in environments
        ]
        place.places = {
            env["value"]: {
                "data-name": env["name"],
                "data-current": env["current"],
                "data-previous": env["previous"],
                **({} if env["serves"] else {"disabled": True}),
            }
            for env in environments
        }
        self.fields["to"].widget.choices = [(target["value"], target["label"]) for target in targets]
        if not self.is_bound:
            self.initial.update(
                {
                    "environment": next(env["value"] for env in environments if env["selected"]),
                    "to": targets[0]["value"],
                }
            )
        return self
