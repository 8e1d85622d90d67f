"""In the CI pass that names real services, they must be the ones in use and must answer."""

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.skipif(not REQUIRE_SERVICES, reason="only when PDP_REQUIRE_SERVICES=1")


@pytest.mark.django_db
def test_database_is_postgresql():
    """The suite runs on PostgreSQL, not the embedded SQLite file."""
    assert connection.vendor == "postgresql"


@pytest.mark.services
def test_broker_is_a_real_server_and_answers():
    """The broker is Redis or RabbitMQ (not the filesystem transport) and accepts a connection."""
    assert settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://", "pyamqp://"))
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=2)
