"""Time each stage of the pipeline through the services, on a throwaway embedded database.

    .venv/bin/python bench/pipeline.py [--runs 5] [--rows 100000]

Prints one JSON line per run with seconds per stage (push, lint, simulation, both sign-offs with
the promotion to staging, promote to production, rollback) and a final line with the medians.
Jobs run in-process (no broker), so this measures our code, not queue latency; the end-to-end
figure a user sees is what `hms rule push` prints.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="pdp-bench-")
    os.environ.update(
        {
            "PDP_DATA_DIR": data_dir,
            "PDP_POPULATION_ROWS": str(args.rows),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DJANGO_SETTINGS_MODULE": "pdp_portal.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from checks.models import CheckRun
    from deployments.services import promote, rollback
    from reviews.management.commands.seed_demo import seed_demo_accounts
    from reviews.services import approve_version
    from rules.services import push_rule_version

    call_command("migrate", verbosity=0)
    seed_demo_accounts(password="bench-password")
    people = {u.username: u for u in User.objects.all()}
    base = json.loads((ROOT / "examples" / "wildfire-aid-2024.json").read_text())

    rows = []
    for run in range(args.runs):
        document = dict(base, title=f"{base['title']} (bench run {run})")
        t0 = time.perf_counter()
        version = push_rule_version(json.dumps(document).encode(), actor=people["drafter"])
        t_checks = time.perf_counter() - t0
        version.refresh_from_db()
        assert version.status == "in_review", version.status
        lint = version.checks.get(kind=CheckRun.Kind.LINT)
        sim = version.checks.get(kind=CheckRun.Kind.SIMULATION)
        t1 = time.perf_counter()
        approve_version(version, actor=people["LegalTeam"], expected_hash=version.content_hash)
        approve_version(version, actor=people["BudgetOffice"], expected_hash=version.content_hash)
        t2 = time.perf_counter()
        deployment = promote(version.rule, actor=people["admin"])
        t3 = time.perf_counter()
        back = rollback(version.rule, actor=people["admin"], reason="bench", to="previous")
        t4 = time.perf_counter()
        row = {
            "run": run,
            "rows": args.rows,
            "push_to_review_s": round(t_checks, 4),
            "lint_s": lint.duration_s,
            "simulation_s": sim.duration_s,
            "signoffs_and_staging_s": round(t2 - t1, 4),
            "promote_s": round(t3 - t2, 4),
            "promote_recorded_s": deployment.duration_s,
            "rollback_s": round(t4 - t3, 4),
            "rollback_recorded_s": back.duration_s,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    keys = [k for k in rows[0] if k not in ("run", "rows")]
    print(json.dumps({"median": {k: round(statistics.median(r[k] for r in rows), 4) for k in keys}, "runs": len(rows)}))


def run():
    """main(), then remove the temporary data folder whatever happened (the database is in it)."""
    try:
        main()
    finally:
        data_dir = os.environ.get("PDP_DATA_DIR", "")
        if os.path.basename(data_dir).startswith("pdp-bench-"):
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    run()
