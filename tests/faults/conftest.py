"""Fixtures of the fault tests: the test's own Redis and the workers it starts, all stopped at the end."""

import shutil

import pytest

from tests.conftest import REQUIRE_SERVICES

from .support import RedisServer, Worker


@pytest.fixture(scope="session")
def worker_data_dir(tmp_path_factory):
    """The workers' data folder, shared by the session so the synthetic population is generated once."""
    return tmp_path_factory.mktemp("faults-data")


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, on a free port; the suite's shared Redis is never touched."""
    if shutil.which("redis-server") is None:
        message = "needs the redis-server program (apt-get install redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def start_worker(worker_data_dir):
    """Start a real Celery worker (`start_worker(broker_url, visibility_timeout=None)`); all are killed at the end."""
    started = []

    def start(broker_url, *, visibility_timeout=None):
        worker = Worker(broker_url=broker_url, data_dir=worker_data_dir, visibility_timeout=visibility_timeout)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()
