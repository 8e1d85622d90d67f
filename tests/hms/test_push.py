"""`hms rule push`: upload, follow lint and simulation, report findings and cost."""

import re
import threading
import time

import pytest

from engine.document import MAX_DOCUMENT_BYTES as ENGINE_MAX_DOCUMENT_BYTES
from hms.cli import MAX_DOCUMENT_BYTES
from rules.models import RuleVersion
from tests.conftest import document
from tests.hms.conftest import EXAMPLES


def test_the_minimal_example_passes_and_shows_its_warning(cli, login, drafter):
    """The seed's minimal rule passes on its declared cost, and its NO_ELIGIBILITY warning is shown."""
    login(drafter)

    result = cli("rule", "push", EXAMPLES / "wildfire-aid-minimal.json")

    assert result.code == 0, result.err
    assert result.lines[0] == "📤 Uploaded Wildfire_Aid  (v1)"
    assert result.lines[1] == "🔍 Lint ............. PASSED"
    assert re.fullmatch(r"   ⚠ NO_ELIGIBILITY at \$: .+", result.lines[2]), result.out
    assert "🧪 Simulation ....... PASSED (Declared cost: $98M within budget)" in result.lines
    assert result.lines[-1].startswith("⏳ Waiting for peer review ... (checks took ")


def test_the_over_budget_example_fails_over_budget_by_1b(cli, login, drafter):
    """A declared $2B against the $1B site limit fails simulation, exits 1 and says by how much."""
    login(drafter)

    result = cli("rule", "push", EXAMPLES / "wildfire-aid-over-budget.json")

    assert result.code == 1
    assert "🧪 Simulation ....... FAILED (Declared cost: $2B over budget by $1B)" in result.lines
    assert any(re.fullmatch(r"   ✗ OVER_BUDGET at \$\.cost: .*\$1B.*", line) for line in result.lines), result.out
    assert not any(line.startswith("⏳") for line in result.lines)
    assert len(result.err.splitlines()) == 1
    assert result.err.startswith("hms: Wildfire_Aid v1 failed simulation (OVER_BUDGET: ")


def test_a_lint_failure_lists_each_error_and_stops(cli, login, drafter, write_doc):
    """Lint errors are listed one per line with code and JSON path; no simulation line; exit 1."""
    login(drafter)
    path = write_doc({"rule": "bad-rule", "eligibility": {"foo": [1]}, "amount": 5})

    result = cli("rule", "push", path)

    assert result.code == 1
    assert result.lines[:2] == ["📤 Uploaded Bad-Rule  (v1)", "🔍 Lint ............. FAILED"]
    assert re.fullmatch(r"   ✗ LOGIC_OPERATOR at \$\.eligibility\.foo: .+", result.lines[2]), result.out
    assert not any("Simulation" in line for line in result.lines)
    assert result.err.splitlines() == [result.err.strip()]
    assert "failed lint" in result.err


def test_an_unparseable_document_is_refused_in_one_line(cli, login, drafter, write_doc):
    """A document the portal refuses (duplicate key) exits 1 with the 400 reason and prints nothing else."""
    login(drafter)

    result = cli("rule", "push", write_doc('{"rule": "dup", "rule": "dup"}'))

    assert result.code == 1
    assert result.out == ""
    assert re.fullmatch(r"hms: 400 invalid_document: Duplicate key 'rule'.*\n", result.err)


def test_pushing_the_same_content_again_is_a_conflict(cli, login, drafter, wildfire_file):
    """Re-pushing content already in review answers 409; hms exits 1 with one stderr line."""
    login(drafter)
    assert cli("rule", "push", wildfire_file).code == 0

    again = cli("rule", "push", wildfire_file)

    assert again.code == 1
    assert again.out == ""
    assert re.fullmatch(r"hms: 409 invalid_state: This content is already Wildfire-Aid-2024 v1 .*\n", again.err)


def test_no_wait_prints_only_the_upload(cli, login, drafter, wildfire_file):
    """--no-wait stops after the Uploaded line."""
    login(drafter)

    result = cli("rule", "push", wildfire_file, "--no-wait")

    assert result.code == 0, result.err
    assert result.lines == ["📤 Uploaded Wildfire-Aid-2024  (v1)"]


def test_push_json_on_failure_carries_the_version_and_the_error(cli, login, drafter):
    """--json on a failed push prints one object with the error and the version's checks."""
    login(drafter)

    result = cli("rule", "push", EXAMPLES / "wildfire-aid-over-budget.json", "--json")

    assert result.code == 1
    body = result.json
    assert body["error"]["code"] == "simulation_failed"
    assert body["result"]["simulation"]["result"]["over_by"] == 1_000_000_000
    assert result.err.startswith("hms: ")


def test_a_missing_file_is_a_usage_error(cli, login, drafter, tmp_path):
    """A file that cannot be read exits 2 before anything is sent."""
    login(drafter)

    result = cli("rule", "push", tmp_path / "nope.json")

    assert result.code == 2
    assert result.err.startswith(f"hms: cannot read {tmp_path / 'nope.json'}")


def test_an_endless_file_is_refused_after_the_portals_limit(cli, login, drafter):
    """hms rule push /dev/zero reads one byte past the 1 MiB limit, sends nothing, and says so in one line."""
    login(drafter)
    before = RuleVersion.objects.count()

    result = cli("rule", "push", "/dev/zero")

    assert result.code == 2
    assert (
        result.err == "hms: /dev/zero is larger than the portal's limit of 1,048,576 bytes (1 MiB); nothing was sent.\n"
    )
    assert RuleVersion.objects.count() == before


def test_a_file_one_byte_over_the_limit_is_refused_and_one_at_it_is_sent(cli, login, drafter, tmp_path):
    """The limit is the portal's own: a document of exactly MAX_DOCUMENT_BYTES reaches the portal, one more byte does not."""
    assert MAX_DOCUMENT_BYTES == ENGINE_MAX_DOCUMENT_BYTES
    login(drafter)
    at_limit, over = tmp_path / "at.json", tmp_path / "over.json"
    padding = MAX_DOCUMENT_BYTES - len(document())
    at_limit.write_bytes(document()[:-1] + b" " * padding + b"}")
    over.write_bytes(document()[:-1] + b" " * (padding + 1) + b"}")

    assert cli("rule", "push", over).err.startswith(f"hms: {over} is larger than the portal's limit")
    result = cli("rule", "push", at_limit, "--no-wait")
    assert result.code == 0, result.err


@pytest.fixture
def no_worker(settings):
    """Checks stay queued, as when no Celery worker is running; messages left in the broker are removed."""
    from pdp_portal.celery import app

    queue = settings.DATA_DIR / "broker" / "queue"
    before = set(queue.iterdir()) if queue.is_dir() else set()
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True
    if queue.is_dir():
        for message in set(queue.iterdir()) - before:
            message.unlink(missing_ok=True)


def test_push_gives_up_after_its_timeout(cli, login, drafter, wildfire_file, no_worker):
    """With nobody running the checks, push waits --timeout seconds, then exits 1 saying so."""
    login(drafter)

    started = time.monotonic()
    result = cli("rule", "push", wildfire_file, "--timeout", "0.5")

    assert result.code == 1
    assert 0.5 <= time.monotonic() - started < 10
    assert result.lines == ["📤 Uploaded Wildfire-Aid-2024  (v1)"]
    assert result.err == "hms: gave up waiting after 0.5s; Wildfire-Aid-2024 v1 is still queued\n"


def test_a_version_superseded_while_waiting_exits_1(cli, login, drafter, wildfire_file, no_worker):
    """When a newer push cancels the checks hms is waiting for, it says so and exits 1."""
    from checks.models import CheckRun
    from checks.services import run_lint
    from rules.models import RuleVersion
    from rules.services import push_rule_version

    login(drafter)
    results = []
    waiting = threading.Thread(target=lambda: results.append(cli("rule", "push", wildfire_file, "--timeout", "30")))
    waiting.start()
    try:
        deadline = time.monotonic() + 10
        while not RuleVersion.objects.filter(rule__slug="wildfire-aid-2024").exists():
            assert time.monotonic() < deadline, "the push never arrived"
            time.sleep(0.05)
        lint = CheckRun.objects.get(version__number=1, kind="lint")
        run_lint(lint.pk)  # as a worker would; simulation then waits in the queue
        push_rule_version(document(title="Wildfire Relief, revised"), actor=drafter)
    finally:
        waiting.join(timeout=30)

    [result] = results
    assert result.code == 1
    assert result.lines == [
        "📤 Uploaded Wildfire-Aid-2024  (v1)",
        "🔍 Lint ............. PASSED",
        "🧪 Simulation ....... CANCELLED",
    ]
    assert result.err == "hms: Wildfire-Aid-2024 v1 was superseded by a newer version; its checks stopped\n"
