"""Review forms. They only parse input; the services decide what is allowed."""

from django import forms
from django.contrib.auth import get_user_model


class AssignReviewerForm(forms.Form):
    """Assign a reviewer: the person (by id, from the page's list) and the role they review as."""

    reviewer = forms.ModelChoiceField(
        queryset=get_user_model().objects.all(),
        error_messages={"invalid_choice": "That person does not exist; choose one from the list."},
    )
    role = forms.CharField(max_length=20)


class ReviewForm(forms.Form):
    """Approve or reject: the hash the reviewer saw, the role, a comment (required to reject, by the service)."""

    expected_hash = forms.CharField(max_length=64, required=False)
    role = forms.CharField(max_length=20, required=False)
    comment = forms.CharField(max_length=5000, required=False)


class CommentForm(forms.Form):
    """A comment without a decision; the service checks it is not empty and not too long."""

    body = forms.CharField(required=False, label="Comment", widget=forms.Textarea(attrs={"rows": 4}))
