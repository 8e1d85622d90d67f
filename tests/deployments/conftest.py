import pytest
from django.conf import settings

from tests.conftest import make_user


@pytest.fixture
def drafting_release_manager(db):
    """A person who both drafts rules and releases them."""
    return make_user("drafting_rm", settings.PDP_DRAFTER_GROUP, settings.PDP_RELEASE_GROUP)
