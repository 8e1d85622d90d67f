"""What an API token costs a request, against a session, on the same endpoint in the same run.

    .venv/bin/python bench/tokens.py [--runs 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pdp_bench .venv/bin/python bench/tokens.py

Asks GET /api/v1/rules/ (one rule live) through Django's test client (no network): with the
person's token (`Authorization: Token …`: the key's hash looked up, expiry and revocation checked,
the last use written at most once a minute), and with a session cookie after signing in, which is
Django's own authentication and the baseline. Prints one JSON line per way with the median and
95th percentile in milliseconds and the queries of one request, then the ratio token / session.
On PostgreSQL the database is created and dropped as `pages.py` does.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import run_on_fresh_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="timed requests per way, after 20 warm-ups")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10.")
    sys.exit(run_on_fresh_database(parser, "pdp-bench-tokens-", lambda database: run(args, database)))


def run(args, database):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reviews.management.commands.seed_demo import seed_demo_accounts
    from rules.services import push_rule_version
    from tokens.services import issue_token

    call_command("migrate", verbosity=0)
    seed_demo_accounts(password="bench-password")
    from django.contrib.auth.models import User

    drafter = User.objects.get(username="drafter")
    push_rule_version((ROOT / "examples" / "wildfire-aid-2024.json").read_bytes(), actor=drafter)
    _, key = issue_token(drafter, actor=drafter, name="bench")
    with_token = Client(HTTP_AUTHORIZATION=f"Token {key}")
    with_session = Client()
    with_session.force_login(drafter)

    medians = {}
    for way, client in (("session", with_session), ("token", with_token)):
        for _ in range(20):
            assert client.get("/api/v1/rules/").status_code == 200
        with CaptureQueriesContext(connection) as captured:
            client.get("/api/v1/rules/")
        queries = len(captured)  # now: the next request clears the connection's log
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get("/api/v1/rules/")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        medians[way] = statistics.median(times)
        line = {"auth": way, "database": database, "runs": args.runs, "median_ms": round(medians[way], 3)}
        line |= {"p95_ms": round(times[int(len(times) * 0.95) - 1], 3), "queries": queries}
        print(json.dumps(line), flush=True)
    print(json.dumps({"database": database, "token_over_session": round(medians["token"] / medians["session"], 2)}))
    return 0


if __name__ == "__main__":
    main()
