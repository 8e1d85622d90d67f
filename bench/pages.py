"""Server time of each portal page with 1,000 rules, 10,000 versions and 100,000 audit events.

    .venv/bin/python bench/pages.py [--runs 5] [--action-runs 3] [--rules 1000] [--events 100000] [--keep]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pdp_bench .venv/bin/python bench/pages.py

The database is fresh: SQLite in a temporary data folder, or, when DATABASE_URL names a
PostgreSQL server, a new database `<name>_<random>` that the script creates and drops. One real
push runs lint and the simulation on the default population; every other version reuses that
stored result. The rest is bulk-loaded: ten versions per rule with their checks, reviews, live
pointers and deployments, and an audit history whose hash chain is valid.

Prints a JSON line with the load time, one line per page (median and max milliseconds over
--runs requests after one warm-up, the queries of the warm-up, the status), one per action (the
full CSV export, verifying the chain: --action-runs requests, all timed), and a last line naming the slowest page. A page answering
anything but 200 (an action: anything but 200 or a redirect) makes the exit status 1.
"""

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERSIONS_PER_RULE = 10
PROGRAMS = ["disaster-relief", "housing", "energy-assistance", "food-security", "veterans", "small-business"]
FUNDS = ["DRF-FY2025", "HSG-FY2025", "NRG-FY2025", "FSD-FY2025", "VET-FY2025"]
# The latest version's state by rule number modulo 20: (status, live v on staging, on production,
# deployments). A deployment is (environment, kind, from, to), in version numbers, 0 for none.
FIRST = [("staging", "promote", 0, 9), ("production", "promote", 0, 9), ("staging", "promote", 9, 10)]
BOTH = [*FIRST, ("production", "promote", 9, 10)]
CATEGORIES = [
    *[("approved", 10, 10, BOTH)] * 4,
    ("approved", 10, 9, [*BOTH, ("production", "rollback", 10, 9)]),
    *[("approved", 10, 9, FIRST)] * 2,
    *[("in_review", 9, 9, FIRST[:2])] * 2,
    *[("in_review", None, None, [])] * 3,
    *[(status, None, None, []) for status in ["lint_failed", "lint_failed", "simulation_failed"]],
    *[(status, None, None, []) for status in ["simulation_failed", "rejected", "rejected", "queued", "simulating"]],
]
EXTRA_PEOPLE = [("drafter2", "drafter"), ("drafter3", "drafter"), ("counsel2", "legal"), ("budget2", "budget")]
EXTRA_PEOPLE += [("release2", "release"), ("visitor", None)]


def fresh_postgres(url):
    """Create a new database on the server DATABASE_URL names; return its URL and a function dropping it."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    server = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"]}
    server["password"] = config["PASSWORD"] or None
    name = f"{config['NAME'] or 'pdp_bench'}_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlsplit(url)._replace(path=f"/{name}").geturl(), name, drop


def run_on_fresh_database(parser, prefix, run, *, keep=False):
    """`run(database)` with Django set up on a fresh database: SQLite in a temporary data folder, or a new
    PostgreSQL database on the server DATABASE_URL names, dropped afterwards even after a failure. Its result."""
    url = os.environ.get("DATABASE_URL", "")
    drop, database = None, "sqlite"
    if url:
        if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
            parser.error("DATABASE_URL must name a PostgreSQL server; leave it unset for SQLite in a temporary folder.")
        url, database, drop = fresh_postgres(url)
        os.environ["DATABASE_URL"] = url
    data_dir = tempfile.mkdtemp(prefix=prefix)
    os.environ.update(PDP_DATA_DIR=data_dir, CELERY_TASK_ALWAYS_EAGER="1", LOG_LEVEL="WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "pdp_portal.settings"
    try:
        return run(database)
    finally:
        from django.db import connections

        connections.close_all()
        if drop is not None:
            drop()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def document_for(base, index, number):
    return {
        **base,
        "rule": f"bench-rule-{index:04d}",
        "title": f"Bench Rule {index:04d}",
        "program": PROGRAMS[index % len(PROGRAMS)],
        "fund": FUNDS[index % len(FUNDS)],
        "cost": 90_000_000 + 123_457 * number,
    }


def category(index):
    """(status of v10, live on staging, on production, deployments) of rule `index`; 0 is the real push's."""
    return CATEGORIES[index % 20] if index else ("in_review", None, None, [])


def version_status(index, number):
    if number == VERSIONS_PER_RULE:
        return category(index)[0]
    for modulus, status in ((7, "lint_failed"), (11, "simulation_failed"), (13, "rejected")):
        if number <= 8 and (index + number) % modulus == 0:
            return status
    return "superseded"


def load(args, base):
    """Everything the pages read, loaded in bulk around one real push. Returns the seconds of each stage."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from accounts.services import create_person
    from audit.models import AuditEvent
    from budget.models import Fund
    from checks.models import CheckRun
    from engine.document import canonical_text, content_hash
    from pdp_portal import permissions
    from reviews.management.commands.seed_demo import seed_demo_accounts
    from rules.models import Rule, RuleVersion, VersionStatus
    from rules.services import push_rule_version

    seconds, started = {}, time.perf_counter()
    seed_demo_accounts(password=secrets.token_urlsafe(12))
    groups = {"drafter": settings.PDP_DRAFTER_GROUP, "release": settings.PDP_RELEASE_GROUP}
    for username, role in EXTRA_PEOPLE:
        create_person(username, actor=None, groups=[{**groups, **settings.PDP_REVIEW_ROLES}[role]] if role else [])
    people = {u.username: u for u in User.objects.all()}
    Fund.objects.bulk_create(
        Fund(code=code, name=f"{code} appropriation", appropriation=200_000_000 * (i + 1), fiscal_year=2025)
        for i, code in enumerate(FUNDS[1:])
    )
    # The one real push: lint and the simulation of the default population, run as in production.
    real = push_rule_version(json.dumps(document_for(base, 0, 1)).encode(), actor=people["drafter"])
    real.refresh_from_db()
    checks = {c.kind: c for c in real.checks.all()}
    if real.status != VersionStatus.IN_REVIEW:
        sys.exit(f"The example rule ended {real.status}, not in review: {[c.findings for c in checks.values()]}")
    seconds["seed_and_checks_s"] = time.perf_counter() - started

    started = time.perf_counter()
    Rule.objects.bulk_create(
        Rule(slug=f"bench-rule-{i:04d}", title=f"Bench Rule {i:04d}", program=PROGRAMS[i % len(PROGRAMS)],
             created_by=people["drafter"])
        for i in range(1, args.rules)
    )  # fmt: skip
    rules = {int(r.slug.rsplit("-", 1)[1]): r for r in Rule.objects.all()}
    drafters = [people[name] for name in ("drafter", "drafter2", "drafter3")]
    RuleVersion.objects.bulk_create(
        (
            RuleVersion(rule=rule, number=n, document=text, content_hash=content_hash(text),
                        uploaded_by=drafters[(i + n) % 3], status=version_status(i, n))
            for i, rule in rules.items()
            for n in range(2 if i == 0 else 1, VERSIONS_PER_RULE + 1)
            for text in [canonical_text(document_for(base, i, n))]
        ),
        batch_size=1000,
    )  # fmt: skip
    real.move_to(VersionStatus.SUPERSEDED)  # v2..v10 of its rule came after it
    permissions.revoke_review_permissions(real)
    versions = {
        (v.rule_id, v.number): v
        for v in RuleVersion.objects.defer("document").exclude(pk=real.pk).select_related("rule")
    }
    load_checks(versions, lint=checks[CheckRun.Kind.LINT], sim=checks[CheckRun.Kind.SIMULATION])
    releases = load_history(rules, versions, people)
    seconds["rows_s"] = time.perf_counter() - started

    started = time.perf_counter()
    load_events(args.events - AuditEvent.objects.count(), versions, releases, people)
    seconds["events_s"] = time.perf_counter() - started
    return {name: round(value, 2) for name, value in seconds.items()}


def load_checks(versions, *, lint, sim):
    """Lint and simulation runs as each version's status implies, with the real ones' findings and result."""
    from django.utils import timezone

    from budget.models import Dataset
    from checks.models import CheckRun

    dataset, now = Dataset.objects.default(), timezone.now()
    common = {"engine_version": sim.engine_version, "attempts": 1, "started_at": now, "heartbeat_at": now}
    done = {**common, "progress": 100, "finished_at": now, "dataset": dataset, "dataset_hash": dataset.sha256}
    lint_error = [{"code": "SCHEMA", "severity": "error", "message": "amount must be a number.", "path": "$.amount"}]
    over = {"code": "OVER_BUDGET", "severity": "error", "message": "Over the budget cap.", "path": "$"}
    runs = []
    for version in versions.values():
        status, result = version.status, {**sim.result, "rule_hash": version.content_hash}
        if status == "queued":
            runs.append(CheckRun(version=version, kind="lint"))
            continue
        failed = status == "lint_failed"
        runs.append(CheckRun(version=version, kind="lint", status="failed" if failed else "passed",
                             findings=lint_error if failed else lint.findings, duration_s=0.0421, **done))  # fmt: skip
        if status == "simulating":
            runs.append(CheckRun(version=version, kind="simulation", status="running", progress=40, **common))
        elif status == "simulation_failed":
            result |= {"within_budget": False, "over_by": 1_234_567.5}
            runs.append(CheckRun(version=version, kind="simulation", status="failed", duration_s=sim.duration_s,
                                 result=result, findings=[*sim.findings, over], **done))  # fmt: skip
        elif not failed:
            runs.append(CheckRun(version=version, kind="simulation", status="passed", duration_s=sim.duration_s,
                                 result=result, findings=sim.findings, **done))  # fmt: skip
    CheckRun.objects.bulk_create(runs, batch_size=500)


def load_history(rules, versions, people):
    """Sign-offs, live pointers and their deployments; review permissions on what is in review."""
    from checks.models import CheckRun
    from deployments.models import Deployment, Environment, Release
    from pdp_portal import permissions
    from reviews.models import Review

    simulations = dict(CheckRun.objects.filter(kind="simulation").values_list("version_id", "pk"))
    environments = {e.name: e for e in Environment.objects.all()}
    reviews, releases, deployments = [], [], []

    def review(version, reviewer, role, decision, comment=""):
        reviews.append(Review(version=version, reviewer=people[reviewer], role=role, decision=decision,
                              comment=comment, content_hash=version.content_hash,
                              simulation_run_id=simulations.get(version.pk)))  # fmt: skip

    for i, rule in rules.items():
        status, staging, production, moves = category(i)
        latest = versions[rule.pk, VERSIONS_PER_RULE]
        for version in [versions[rule.pk, 9]] * bool(staging) + [latest] * (status == "approved"):
            review(version, ("LegalTeam", "counsel2")[i % 2], "legal", "approve")
            review(version, ("BudgetOffice", "budget2")[i % 2], "budget", "approve")
        if status == "rejected":
            review(latest, "LegalTeam", "legal", "reject", "The authority cited does not cover this payment.")
        if i:  # the real push made its rule's pointers, at v0
            for name, number in (("staging", staging), ("production", production)):
                target = versions[rule.pk, number] if number else None
                releases.append(Release(rule=rule, environment=environments[name], version=target))
        for name, kind, start, end in moves:
            deployments.append(Deployment(rule=rule, environment=environments[name], kind=kind,
                                          from_version=versions.get((rule.pk, start)),
                                          to_version=versions.get((rule.pk, end)),
                                          actor=people[("admin", "release2")[i % 2]], duration_s=0.0312,
                                          reason="Congress requested pause" if kind == "rollback" else ""))  # fmt: skip
    Review.objects.bulk_create(reviews, batch_size=1000)
    Release.objects.bulk_create(releases, batch_size=1000)
    Deployment.objects.bulk_create(deployments, batch_size=1000)
    for version in versions.values():
        if version.status == "in_review":
            permissions.grant_review_permissions(version)
    return {(r.rule_id, r.environment.name): r.pk for r in Release.objects.select_related("environment")}


# The history: (action, who does it, weight); None is the system (checks), "refused" one of REFUSALS.
ACTIONS = [("rule.push", "drafter", 20), ("check.lint", None, 20), ("check.simulation", None, 19)]
ACTIONS += [("review.approve", "reviewer", 14), ("review.reject", "reviewer", 2), ("release.promote", "release", 8)]
ACTIONS += [("release.rollback", "release", 2), ("refused", None, 12), ("fund.change", "budget", 3)]
REFUSALS = [
    ("review.approve", "drafter", "The drafter of a version cannot review it."),
    ("rule.push", "visitor", "You may not upload rules; ask an administrator for the drafter role."),
    ("release.rollback", "release", "Nothing was live in production before v1."),
]
PEOPLE = {"drafter": ["drafter", "drafter2", "drafter3"], "release": ["admin", "release2"], "visitor": ["visitor"]}
PEOPLE |= {"reviewer": ["LegalTeam", "counsel2", "BudgetOffice", "budget2"], "budget": ["BudgetOffice", "budget2"]}


def load_events(count, versions, releases, people):
    """`count` events after those there, over the past year, each hashed after the one before it."""
    from django.utils import timezone

    from audit.models import GENESIS_HASH, AuditEvent
    from audit.signing import seal

    rng, pool = random.Random(2024), list(versions.values())
    kinds, weights = [a[:2] for a in ACTIONS], [a[2] for a in ACTIONS]
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
    year = dt.timedelta(days=365)
    start, step = timezone.now() - year, year / count
    batch = []
    for j in range(count):
        (action, role), version = rng.choices(kinds, weights)[0], rng.choice(pool)
        rule, outcome = version.rule, "done"
        target = ("rules.ruleversion", str(version.pk), f"{rule.display_name} v{version.number}", rule.slug)
        data = {"number": version.number, "content_hash": version.content_hash}
        if action == "refused":
            action, role, reason = rng.choice(REFUSALS)
            outcome, data = "refused", {"reason": reason, "code": "refused"}
        elif action.startswith("check."):
            data = {"status": "passed", "errors": 0, "warnings": 1, "duration_s": 0.0421, "cost": 98_123_456}
        elif action.startswith("review."):
            data |= {"role": rng.choice(["legal", "budget"]), "comment": "Within the act's scope."}
        elif action.startswith("release."):
            env = rng.choice(["staging", "production"])
            data = {"environment": env, "from": "v8", "to": "v9", "duration_s": 0.0312, "reason": "Congress asked"}
            target = ("deployments.release", str(releases[rule.pk, env]), f"{rule.display_name} @ {env}", rule.slug)
        elif action == "fund.change":
            data, target = {"changed": ["appropriation"]}, ("budget.fund", "1", FUNDS[0], "")
        actor = people[rng.choice(PEOPLE[role])] if role else None
        event = AuditEvent(
            actor=actor,
            actor_name=actor.username if actor else "",
            action=action,
            outcome=outcome,
            **dict(zip(("target_type", "target_id", "target_repr", "rule_slug"), target, strict=True)),
            data=data,
            ip="127.0.0.1" if actor else None,
            created_at=start + step * j,
            prev_hash=prev,
        )
        event.hash = prev = event.compute_hash()
        event.seal = seal(event.hash)
        batch.append(event)
        if len(batch) == 5000 or j == count - 1:
            AuditEvent.objects.bulk_create(batch)
            batch = []


# What is measured: (kind, URL name, arguments, query, as whom, method). The rule pages show the first
# rule live in production at v10 (0020) and the first in review with v9 live (0027).
PAGES = [
    *(("page", "home", [], "", who, "get") for who in ("drafter", "LegalTeam", "BudgetOffice", "admin")),
    ("page", "rule-detail", ["bench-rule-0020"], "?v=10", "admin", "get"),
    ("page", "rule-detail", ["bench-rule-0027"], "?v=10", "LegalTeam", "get"),
    ("page", "version-checks", ["bench-rule-0020", 10], "", "drafter", "get"),
    ("page", "rule-upload", [], "", "drafter", "get"),
    ("page", "dataset-list", [], "", "BudgetOffice", "get"),
    ("page", "fund-list", [], "", "BudgetOffice", "get"),
    ("page", "environments", [], "", "admin", "get"),
    ("page", "audit-list", [], "", "admin", "get"),
    ("page", "audit-list", [], "?rule=bench-rule-0020", "admin", "get"),
    ("page", "audit-list", [], "?person=LegalTeam", "admin", "get"),
    ("page", "audit-list", [], "?date_from={day}&date_to={day}", "admin", "get"),
    ("action", "audit-export", [], "", "admin", "get"),
    ("action", "audit-verify", [], "", "admin", "post"),
]


def finish_verification():
    """Verify chain only queues the walk: the job runs here, inside the timing, unless Celery ran it eagerly."""
    from audit.models import ChainVerification
    from audit.services import run_chain_verification

    verification = ChainVerification.objects.order_by("-id").first()
    if verification is not None and not verification.is_finished:
        run_chain_verification(verification.pk)
        verification.refresh_from_db()
    if verification is None or verification.status != ChainVerification.Status.PASSED:
        raise SystemExit(f"the chain verification did not pass: {verification}")


# Actions whose request starts background work: what finishes it, so the whole of it is timed.
FINISH = {"audit-verify": finish_verification}


def measure(client, kind, name, person, args, query, method, runs):
    """One line of figures; the queries are those of the first request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse(name, args=args) + query
    except NoReverseMatch:
        return {kind: name, "as": person, "missing": True}

    def once():
        started = time.perf_counter()
        response = getattr(client, method)(url)
        # A streamed response does its work as it is read: read it all.
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if name in FINISH:
            FINISH[name]()
        return response.status_code, len(body), (time.perf_counter() - started) * 1000

    with CaptureQueriesContext(connection) as captured:
        status, size, first = once()
    queries = len(captured)  # now: the next request clears the connection's log
    # A page's first request warms caches and is left out; an action takes seconds, so it counts.
    times = [first] if kind == "action" else []
    times += [once()[2] for _ in range(runs - len(times))]
    figures = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "runs": len(times)}
    return {kind: name, "as": person, "url": url, **figures, "queries": queries, "bytes": size, "status": status}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed requests per page, after one warm-up")
    parser.add_argument("--action-runs", type=int, default=3, help="timed CSV exports and chain verifications")
    parser.add_argument("--rules", type=int, default=1000, help="rules, ten versions each")
    parser.add_argument("--events", type=int, default=100_000, help="audit events in all")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (SQLite) afterwards")
    args = parser.parse_args()
    if min(args.runs, args.action_runs) < 1 or args.rules < 40 or args.events < 1000:
        parser.error("--runs and --action-runs must be at least 1, --rules at least 40, --events at least 1000.")

    failed = run_on_fresh_database(parser, "pdp-bench-pages-", lambda database: run(args, database), keep=args.keep)
    sys.exit(1 if failed else 0)


def run(args, database):
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from audit.models import AuditEvent
    from audit.services import verify_chain
    from checks.models import CheckRun
    from deployments.models import Deployment, Release
    from rules.models import Rule, RuleVersion

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = round(time.perf_counter() - started, 2)
    seconds = load(args, json.loads((ROOT / "examples" / "wildfire-aid-2024.json").read_text()))
    checked, problems = verify_chain()
    counted = {"rules": Rule, "versions": RuleVersion, "checks": CheckRun, "deployments": Deployment}
    totals = {name: model.objects.count() for name, model in {**counted, "audit_events": AuditEvent}.items()}
    totals["live_pointers"] = Release.objects.filter(version__isnull=False).count()
    totals["chain_ok"] = checked == args.events and not problems
    load_s = round(time.perf_counter() - started, 2)
    print(json.dumps({"database": database, **totals, "migrate_s": migrate_s, **seconds, "load_s": load_s}), flush=True)

    clients = {}
    for user in User.objects.filter(username__in=["drafter", "LegalTeam", "BudgetOffice", "admin"]):
        clients[user.username] = Client(raise_request_exception=False)
        clients[user.username].force_login(user)
    day = (timezone.localdate() - dt.timedelta(days=100)).isoformat()
    lines = []
    for kind, name, url_args, query, person, method in PAGES:
        runs = args.action_runs if kind == "action" else args.runs
        lines.append(measure(clients[person], kind, name, person, url_args, query.format(day=day), method, runs))
        print(json.dumps(lines[-1]), flush=True)

    def ok(line):
        return line["status"] == 200 or ("action" in line and line["status"] in (301, 302, 303))

    measured = [line for line in lines if not line.get("missing")]
    failed = [line for line in measured if not ok(line)] + ([] if totals["chain_ok"] else [totals])
    slowest = max((line for line in measured if "page" in line), key=lambda line: line["median_ms"])
    summary = {k: slowest[k] for k in ("page", "as", "url", "median_ms", "max_ms", "queries")}
    print(json.dumps({"slowest_page": summary, "failed": len(failed), "database": database}), flush=True)
    return bool(failed)


if __name__ == "__main__":
    main()
