import pytest
from rest_framework.test import APIClient


@pytest.fixture
def payments(db, settings):
    """A payment system's account: it asks for decisions over the API."""
    from tests.conftest import make_user

    return make_user("payments", settings.PDP_SYSTEMS_GROUP)


@pytest.fixture
def system(payments):
    return payments


@pytest.fixture
def client(payments):
    """An API client signed in as the payment system (no token: the framework's own authentication)."""
    client = APIClient()
    client.force_authenticate(payments)
    return client
