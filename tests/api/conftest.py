import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import make_user
from tokens.models import ApiToken, hash_key


def token_for(user, **fields):
    """A key for a token of this person's, made directly (issuing one is tested in tests/tokens)."""
    from datetime import timedelta

    from django.utils import timezone

    key = ApiToken.new_key()
    fields.setdefault("expires_at", timezone.now() + timedelta(days=1))
    fields.setdefault("last_used_at", timezone.now())  # not written again within the minute
    ApiToken.objects.create(user=user, name="tests", prefix=key[:8], key_hash=hash_key(key), **fields)
    return key


@pytest.fixture
def api():
    """`api(user)`: a client authenticated with that person's API token; `api(None)`: anonymous."""

    def _client(user):
        client = APIClient()
        if user is not None:
            key = token_for(user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client


@pytest.fixture
def oversight(db):
    """An oversight body's system: may roll back (with a reason), never promote or schedule."""
    return make_user("oversight", settings.PDP_OVERSIGHT_GROUP)


@pytest.fixture
def system(db):
    """A payment system that asks for decisions."""
    return make_user("payments", settings.PDP_SYSTEMS_GROUP)
