import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import make_user


@pytest.fixture
def api():
    """`api(user)`: a client authenticated with that person's API token; `api(None)`: anonymous."""

    def _client(user):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client


@pytest.fixture
def system(db):
    """A payment system that asks for decisions."""
    return make_user("payments", settings.PDP_SYSTEMS_GROUP)
