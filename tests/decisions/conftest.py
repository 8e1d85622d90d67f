import pytest


@pytest.fixture
def payments(db, settings):
    """A payment system's account: it asks for decisions over the API."""
    from tests.conftest import make_user

    return make_user("payments", settings.PDP_SYSTEMS_GROUP)
