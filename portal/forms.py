"""Forms the USWDS way (its form templates and the GOV.UK error summary it follows).

A form is shown with templates/_error_summary.html at the top and templates/_field.html for each
field: every problem is listed once at the top, linking to its field, and said again at the field,
whose control carries aria-invalid (Django sets it on a field with errors, and points the
control's aria-describedby at the hint and the message).

Services refuse a request as a whole, with one DomainError; one that names its fields says so in
`details["fields"]` ({field: message}), and `show_refusal` puts each message on its field.
"""

from django import forms

from engine.errors import DomainError
from portal.pages import refused

# The USWDS class of each kind of control, the more specific first.
_CONTROL_CLASSES = (
    (forms.FileInput, "usa-file-input"),
    (forms.Select, "usa-select"),
    (forms.Textarea, "usa-textarea"),
    (forms.widgets.Input, "usa-input"),
)


class USWDSForm(forms.Form):
    """A form whose controls carry their USWDS class, and which leaves checking to the server.

    No `required` attribute: the browser would stop at the first empty field, one problem at a
    time, where the server names them all at once.
    """

    use_required_attribute = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if widget.is_hidden:
                continue
            for kind, css_class in _CONTROL_CLASSES:
                if isinstance(widget, kind):
                    widget.attrs["class"] = " ".join(filter(None, [css_class, widget.attrs.get("class")]))
                    break


def submit(form, call, *, field=None):
    """Validate `form`, then call the service with its cleaned data: (what it returned, status 200).

    (None, 400) when the form cannot be read; (None, the refusal's status) when the service
    refuses, with the refusal put on the form (`show_refusal`) and kept as `form.refusal`.
    """
    if not form.is_valid():
        return None, 400
    try:
        return call(form.cleaned_data), 200
    except DomainError as exc:
        show_refusal(form, exc, field=field)
        return None, exc.status


def show_refusal(form, exc, *, field=None):
    """Put a service's refusal on `form`: each message of `details["fields"]` on its field, else all on `field`.

    `field` None puts a refusal that names no field at the top of the form. A 403 or a 404 is an
    error page instead (the service recorded it already).
    """
    if exc.status in (403, 404):
        refused(None, exc, None)
    form.refusal = exc
    named = exc.details.get("fields") or {}
    for name, message in named.items():
        form.add_error(name if name in form.fields else None, message)
    if not named:
        form.add_error(field, exc.message)


def shown_again(form):
    """Whether a refused form is shown again with its problems at its fields (400), not as a page message.

    A form that could not be read, or a refusal naming its fields, belongs at the fields. A refusal
    of the request as a whole (the version is no longer in review, the pointer moved meanwhile)
    is said at the top of the page, which shows what is true now.
    """
    refusal = getattr(form, "refusal", None)
    return refusal is None or bool(refusal.details.get("fields"))
