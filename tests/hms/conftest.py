"""Run `hms` in-process against the real API on pytest-django's live server.

`cli(...)` calls `hms.cli.main` with the live server's address and a private config folder and
returns what a shell would see: the exit code, stdout and stderr.
"""

import io
import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from hms import cli as hms_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PASSWORD = "pw-for-tests-1"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self):
        return self.out.splitlines()

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def environments(transactional_db):
    """The release environments, which a transactional test's flush removes until post_migrate."""
    from deployments.apps import ensure_environments

    ensure_environments()


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    folder = tmp_path / "hms-config"
    monkeypatch.setenv("HMS_CONFIG_DIR", str(folder))
    monkeypatch.delenv("HMS_SERVER", raising=False)
    return folder


@pytest.fixture
def cli(live_server, environments, config_dir, capsys, monkeypatch):
    """cli("rule", "push", path, stdin="...") → Run(code, out, err) against the live server."""

    def run(*args, stdin=None, server=None):
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        monkeypatch.setenv("HMS_SERVER", server or live_server.url)
        code = hms_cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def login(cli):
    """login(user) logs `user` in through the CLI, as they would at a terminal."""

    def _login(user):
        result = cli("login", "--user", user.username, "--password-stdin", stdin=PASSWORD + "\n")
        assert result.code == 0, result.err
        return result

    return _login


@pytest.fixture
def people(drafter, counsel, budget_officer, release_manager, login):
    """The four people of the walkthrough, each logged in; the release manager last (the default)."""
    for user in (drafter, counsel, budget_officer, release_manager):
        login(user)
    return {"drafter": drafter, "counsel": counsel, "budget": budget_officer, "release": release_manager}


@pytest.fixture
def fund(transactional_db):
    """The example's fund, registered as the demo seed does, so its remainder is checked."""
    from budget.models import Fund

    return Fund.objects.create(
        code="DRF-FY2025", name="Disaster Relief Fund", appropriation=500_000_000, fiscal_year=2025
    )


@pytest.fixture
def wildfire_file():
    return EXAMPLES / "wildfire-aid-2024.json"


@pytest.fixture
def write_doc(tmp_path):
    """write_doc(dict or text, name) → a rule file on disk."""

    def _write(doc, name="rule.json"):
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    return _write


@pytest.fixture
def dead_server():
    """The address of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
