import pytest
from django.conf import settings

from tests.conftest import make_user


@pytest.fixture
def second_counsel(db):
    return make_user("counsel2", settings.PDP_REVIEW_ROLES["legal"])


@pytest.fixture
def legal_and_budget(db):
    """One person in both review groups."""
    return make_user("both_hats", settings.PDP_REVIEW_ROLES["legal"], settings.PDP_REVIEW_ROLES["budget"])
