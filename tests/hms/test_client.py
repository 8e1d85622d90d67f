"""What every command shares: exit codes, one-line errors, global options, no Django inside."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hms import output as hms_output

ROOT = Path(__file__).resolve().parents[2]


def test_an_unreachable_portal_exits_2_in_one_line(cli, dead_server):
    """Connection refused: one line naming the portal's address, exit 2."""
    result = cli("login", "--user", "drafter", "--password-stdin", stdin="pw\n", server=dead_server)

    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [result.err.rstrip("\n")]
    assert result.err.startswith(f"hms: the portal at {dead_server} could not be reached")


def test_the_installed_command_exits_2_when_the_portal_is_down(dead_server, tmp_path):
    """The real `python -m hms` process exits 2 with one stderr line when nothing listens."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "tokens.json").write_text(
        json.dumps({"servers": {dead_server: {"default_user": "drafter", "tokens": {"drafter": "abc"}}}})
    )
    env = {**os.environ, "HMS_CONFIG_DIR": str(folder), "HMS_SERVER": dead_server}

    done = subprocess.run(
        [sys.executable, "-m", "hms", "rule", "status", "wildfire-aid-2024"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "could not be reached" in done.stderr


def test_a_stale_token_says_how_to_log_in_again(cli, drafter, config_dir, live_server):
    """A token the portal does not know is a 401: exit 1, with the login command to run."""
    config_dir.mkdir()
    (config_dir / "tokens.json").write_text(
        json.dumps({"servers": {live_server.url: {"default_user": "drafter", "tokens": {"drafter": "0" * 40}}}})
    )

    result = cli("rule", "status", "wildfire-aid-2024")

    assert result.code == 1
    assert result.err == "hms: 401 authentication_failed: Invalid token. (log in again: hms login --user drafter)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "rule", "status", "wildfire-aid-2024"],
        ["rule", "--json", "status", "wildfire-aid-2024"],
        ["rule", "status", "wildfire-aid-2024", "--json"],
    ],
)
def test_global_options_work_before_and_after_the_subcommand(cli, people, wildfire_file, args):
    """--json (like --server and --user) is accepted at the top, after `rule`, and after the action."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0

    result = cli(*args)

    assert result.code == 0, result.err
    assert result.json["rule"] == "wildfire-aid-2024"


def test_server_option_wins_over_the_environment(cli, people, wildfire_file, live_server, dead_server):
    """--server overrides HMS_SERVER, before or after the subcommand."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0

    after = cli("rule", "status", "wildfire-aid-2024", "--server", live_server.url, server=dead_server)
    before = cli("--server", live_server.url + "/", "rule", "status", "wildfire-aid-2024", server=dead_server)

    assert after.code == 0, after.err
    assert before.code == 0, before.err


def test_usage_errors_are_one_line_and_exit_2(cli):
    """A missing argument is reported in one line (no usage block) with exit 2."""
    result = cli("rule", "rollback")

    assert result.code == 2
    assert result.err == "hms: Missing argument 'RULE' (see hms rule rollback --help)\n"


def test_hms_imports_nothing_from_django_or_the_project():
    """The client runs without Django: importing it loads none of Django or the project's apps."""
    code = (
        "import sys, hms.cli, hms.__init__\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'rules', 'reviews', 'deployments', 'audit', 'pdp_portal', 'celery'})\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (98_000_000, "$98M"),
        (1_200_000_000, "$1.2B"),
        (2_000_000_000, "$2B"),
        (950_000, "$950K"),
        (420, "$420"),
        (69_732_600, "$69.7M"),
        (123_456_789, "$123M"),
        (0, "$0"),
    ],
)
def test_money_is_short(amount, text):
    """Money is $98M, $1.2B, $950K, $420: one decimal at most, none from 100 of a unit up."""
    assert hms_output.short_money(amount) == text


@pytest.mark.parametrize("amount", [0, 420, 999, 1_000, 99_950, 1_050_000, 98_000_000, 150_000_000, 1e9, 2.5e12])
def test_money_reads_as_the_portal_writes_it(amount):
    """The CLI's money format agrees with the portal's, so findings and summary lines match."""
    from engine.simulation import short_money

    assert hms_output.short_money(amount) == short_money(amount)


class FakeStream:
    def __init__(self, tty):
        self.text = ""
        self.tty = tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return self.tty


def test_progress_is_drawn_on_a_terminal_stderr_only():
    """On a TTY stderr progress is drawn and erased before the next line; stdout never gets it, nor a pipe."""
    stdout, terminal = FakeStream(tty=True), FakeStream(tty=True)
    out = hms_output.Output(False, stdout=stdout, stderr=terminal)
    with out.progress() as show:
        show([("lint", 40, "linting")])
        drawn = terminal.text
        out.line("🔍 Lint ............. PASSED")
        assert terminal.text[len(drawn) :].endswith("\x1b[2K")  # the progress lines are erased
    assert all(part in drawn for part in ("🔍 Lint .............", "40%", "linting"))
    assert stdout.text == "🔍 Lint ............. PASSED\n"

    stdout, piped = FakeStream(tty=True), FakeStream(tty=False)
    out = hms_output.Output(False, stdout=stdout, stderr=piped)
    with out.progress() as show:
        show([("lint", 40, "linting")])
        out.line("🔍 Lint ............. PASSED")
    assert piped.text == ""
    assert stdout.text == "🔍 Lint ............. PASSED\n"
