import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from budget.models import Dataset
from budget.services import evaluate_budget
from checks.services import comparison_rules, live_rules
from engine.document import canonical_text, content_hash, parse_strict
from engine.errors import DomainError
from engine.figures import money, short_money
from engine.lint import has_errors, lint_document
from engine.simulation import engine_version, simulate
from pdp_portal import governance
from rules.models import Rule


class Command(BaseCommand):
    help = "Lint and simulate a rule document against a population, storing nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the rule document (JSON); '-' reads standard input")
        parser.add_argument("--dataset", help="a population file (CSV or Parquet); default: the default dataset")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            raw = sys.stdin.buffer.read() if options["file"] == "-" else Path(options["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}.") from None
        _prepare_embedded_database()
        try:
            report = simulate_file(raw, dataset_path=options["dataset"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except DatabaseError as exc:
            raise CommandError(f"The database is not ready ({exc}); run `python manage.py migrate` first.") from None
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self.stdout.write(human(report))
        if not report["passed"]:
            sys.exit(1)


def _prepare_embedded_database():
    """On a fresh data folder the embedded SQLite file has no tables yet: create them, as `make run` would.

    A database server (DATABASE_URL) is left alone; if it is not migrated the command says so.
    """
    if connection.vendor != "sqlite":
        return
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)


def _population(dataset_path):
    """The frame, its hash and its columns: from a file, the default dataset, or a fresh synthetic one."""
    from budget.services import load_dataset, read_upload
    from engine import population

    if dataset_path:
        path = Path(dataset_path)
        if not path.is_file():
            raise CommandError(f"No dataset file at {dataset_path}.")
        frame, info = read_upload(path, filename=path.name)
        return frame, info["sha256"], path.name
    dataset = Dataset.objects.default()
    if dataset is not None:
        return load_dataset(dataset), dataset.sha256, dataset.name
    # Nothing stored yet: generate the default synthetic population in memory only.
    frame = population.generate(settings.PDP_POPULATION_ROWS, settings.PDP_POPULATION_SEED)
    return frame, "", f"synthetic ({settings.PDP_POPULATION_ROWS:,} rows, not stored)"


def simulate_file(raw, *, dataset_path=None):
    document = parse_strict(raw)
    canonical = canonical_text(document)
    frame, dataset_hash, dataset_name = _population(dataset_path)
    findings = lint_document(document, columns=frame.columns, live=live_rules(), governance=governance.in_force())
    report = {
        "rule": document.get("rule"),
        "rule_hash": content_hash(canonical),
        "dataset": dataset_name,
        "dataset_hash": dataset_hash,
        "engine": engine_version(),
        "rows": frame.height,
        "eligible_rows": None,
        "recipients": None,
        "cost": None,
        "budget_limit": None,
        "passed": False,
        "stage": "lint",
        "findings": findings,
    }
    if has_errors(findings):
        return report
    own, others = comparison_rules(document)
    result, sim_findings = simulate(document, frame, live=own, others=others)
    report["findings"] = findings + sim_findings
    report["stage"] = "simulation"
    if result is None:
        return report
    within, details, budget_findings = evaluate_budget(
        document, result, rule=Rule.objects.filter(slug=document.get("rule")).first()
    )
    report["findings"] += budget_findings
    report.update(result)
    report.update(details)
    report["passed"] = within and not has_errors(report["findings"])
    return report


def human(report):
    lines = [f"{report['rule']}  on {report['dataset']} ({report['rows']:,} rows)"]
    for f in report["findings"]:
        lines.append(f"  {f['severity']:<7} {f['code']} at {f['path']}: {f['message']}")
    if report["cost"] is not None:
        recipients = f"{report['recipients']:,.0f}" if report["recipients"] is not None else "n/a"
        lines.append(
            f"  cost {short_money(report['cost'])} ({money(report['cost'])}), recipients {recipients}, "
            f"limit {short_money(report['budget_limit'])} ({report['binding_limit']})"
        )
    lines.append("PASSED" if report["passed"] else f"FAILED at {report['stage']}")
    return "\n".join(lines)
