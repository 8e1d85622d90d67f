"""Review forms. They only parse input; the services decide what is allowed.

Each is shown on the rule page in the USWDS pattern (templates/_field.html); the page names its
controls per role, so two review forms of one person never share an id.
"""

from django import forms
from django.contrib.auth import get_user_model

from portal.forms import USWDSForm


class AssignReviewerForm(USWDSForm):
    """Assign a reviewer: the person (by id, from the page's list) and the role they review as."""

    reviewer = forms.ModelChoiceField(
        queryset=get_user_model().objects.all(),
        label="Reviewer",
        empty_label="- Select -",
        error_messages={
            "required": "Choose the person to assign.",
            "invalid_choice": "That person does not exist; choose one from the list.",
        },
    )
    role = forms.CharField(max_length=20, widget=forms.HiddenInput)


class ReviewForm(USWDSForm):
    """Approve or reject: the hash the reviewer saw, the role, a comment (required to reject, by the service)."""

    expected_hash = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput, label="Content hash")
    role = forms.CharField(max_length=20, required=False, widget=forms.HiddenInput, label="Role")
    comment = forms.CharField(
        max_length=5000, required=False, label="Comment", widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(ReviewForm):
    """A rejection: its comment says why. The browser asks for it before sending; the service insists."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        comment = self.fields["comment"]
        comment.label = "Why you reject it (required)"
        comment.widget.attrs["required"] = True


class CommentForm(USWDSForm):
    """A comment without a decision; the service checks it is not empty and not too long."""

    body = forms.CharField(
        required=False,
        label="Comment without deciding",
        help_text="A question for the drafter or a note for the other reviewers; it approves and rejects nothing.",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 5000}),
    )
