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
