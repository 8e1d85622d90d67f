"""The `hms` commands (a click group) and `main`, the entry point of the `hms` console script.

`hms` speaks only HTTP to the portal's REST API and imports nothing from Django or the project,
so it runs anywhere Python, click and rich do. Exit codes: 0 success, 1 the portal refused or a
check failed, 2 a usage error, a missing login, or a portal that could not be reached.
"""

import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from hms.client import DEFAULT_SERVER, EXIT_OK, EXIT_USAGE, Client, HmsError, normalise_server, one_line, quote
from hms.output import CHECKS, Output, check_lines, findings_of, versions_table
from hms.tokens import TokenStore

POLL_INTERVAL_S = 0.2
# The largest rule document the portal takes (engine/document.py, which hms may not import).
MAX_DOCUMENT_BYTES = 1024 * 1024
FINISHED = ("passed", "failed", "cancelled")
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


class Session:
    """The global options of one run, wherever on the command line they were given, and its output."""

    def __init__(self) -> None:
        self.server_option: str | None = None
        self.user: str | None = None
        self.as_json = False
        self._out: Output | None = None

    @property
    def server(self) -> str:
        return normalise_server(self.server_option or os.environ.get("HMS_SERVER"))

    @property
    def out(self) -> Output:
        if self._out is None:
            self._out = Output(self.as_json)
        return self._out

    def client(self) -> Client:
        """A client that sends the stored token of --user, or of the last user logged in."""
        user, token = TokenStore().token_for(self.server, self.user)
        return Client(self.server, token=token, user=user)


def _given(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """An option callback that records a value given on the command line; an absent option changes nothing."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:
            setattr(ctx.obj, attribute, value)

    return callback


# On `hms`, on `hms rule` and on every command, so `hms --json rule push F` and
# `hms rule push F --json` both work and neither undoes the other.
GLOBAL_OPTIONS = (
    click.option(
        "--server",
        expose_value=False,
        callback=_given("server_option"),
        help=f"portal address (env HMS_SERVER, default {DEFAULT_SERVER})",
    ),
    click.option(
        "--user",
        expose_value=False,
        callback=_given("user"),
        help="whose stored token to use (default: last logged in)",
    ),
    click.option("--json", is_flag=True, expose_value=False, callback=_given("as_json"), help="print one JSON object"),
)


def global_options(command: F) -> F:
    for option in reversed(GLOBAL_OPTIONS):
        command = option(command)
    return command


class VersionNumber(click.ParamType):
    """A version number in ASCII digits: click's int would read "١" (Arabic-Indic one) as 1."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not (text.isascii() and text.removeprefix("-").isdigit()):
            self.fail(f"{value!r} is not a valid integer.", param, ctx)
        return int(text)


VERSION = VersionNumber()


ENVIRONMENTS = ["prod", "production", "staging", "stage"]
NOTE_OPTION = click.option("--note", default="", help="a release note, kept with the deployment")


def version_option(help_text: str) -> Callable[[F], F]:
    """--version N, for a promotion now or scheduled."""
    return click.option("--version", "number", type=VERSION, default=None, metavar="N", help=help_text)


def env_name(text: str) -> str:
    return {"prod": "production", "stage": "staging"}.get(text, text)


def release_body(environment: str, number: int | None, note: str) -> dict[str, Any]:
    """What a promotion asks, now or scheduled: where, which version (staging's when none), the release note."""
    body: dict[str, Any] = {"environment": environment}
    if number:
        body["version"] = number
    if note.strip():
        body["note"] = note.strip()
    return body


def version_path(slug: str, number: int) -> str:
    return f"/rules/{quote(slug)}/versions/{int(number)}/"


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, no_args_is_help=False)
@global_options
def hms() -> None:
    """Push, review, deploy and roll back rules on the Policy Deployment Pipeline."""


@hms.command()
@click.option("--password-stdin", is_flag=True, help="read the password from one line of stdin")
@global_options
@click.pass_obj
def login(session: Session, password_stdin: bool) -> None:
    """Log in and store a token."""
    server, user = session.server, session.user
    if not user:
        raise HmsError("login needs --user NAME", exit_code=EXIT_USAGE)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass(f"Password for {user} at {server}: ")
        except EOFError:
            password = ""
    if not password:
        raise HmsError("no password given", exit_code=EXIT_USAGE)
    body = Client(server).post("/auth/token/", {"username": user, "password": password})
    token = body.get("token")
    if not token:
        raise HmsError(f"the portal at {server} did not answer with a token")
    store = TokenStore()
    store.remember(server, user, token)
    session.out.line(f"Logged in to {server} as {user}.")
    session.out.result(
        {"server": server, "user": user, "tokens_file": str(store.path), "expires_at": body.get("expires_at")}
    )


@hms.group(no_args_is_help=False)
@global_options
def rule() -> None:
    """Work with rules."""


@rule.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--no-wait", is_flag=True, help="do not wait for lint and simulation")
@click.option("--timeout", type=float, default=300.0, help="seconds to wait for the checks (default 300)")
@global_options
@click.pass_obj
def push(session: Session, file: Path, no_wait: bool, timeout: float) -> None:
    """Upload a rule document and wait for its checks."""
    out = session.out
    try:
        # At most one byte past the portal's limit: enough to refuse a file that is too large
        # (even an endless one such as /dev/zero) without reading it all.
        with file.open("rb") as source:
            raw = source.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise HmsError(f"cannot read {file}: {exc.strerror or exc}", exit_code=EXIT_USAGE) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise HmsError(
            f"{file} is larger than the portal's limit of {MAX_DOCUMENT_BYTES:,} bytes (1 MiB); nothing was sent.",
            exit_code=EXIT_USAGE,
        )
    client = session.client()
    started = time.monotonic()
    version = client.post("/rules/", raw=raw)
    name = version.get("name") or version["rule"]
    label = version.get("label") or f"v{version['number']}"
    out.line(f"📤 Uploaded {name}  ({label})")
    if no_wait:
        out.result(version)
        return

    shown = set()
    failure = None
    with out.progress() as show:
        while True:
            running = []
            for kind in CHECKS:
                check = version.get(kind)
                if kind in shown or not check:
                    continue
                if check["status"] in FINISHED:
                    for text in check_lines(kind, check):
                        out.line(text)
                    shown.add(kind)
                    if check["status"] == "failed":
                        errors = findings_of(check, "error")
                        first = (
                            f" ({errors[0].get('code')}: {one_line(errors[0].get('message', ''))})" if errors else ""
                        )
                        failure = f"{name} {label} failed {kind}{first}"
                elif check["status"] == "running":
                    running.append((kind, check.get("progress", 0), check.get("progress_note")))
            show(running)
            elapsed = time.monotonic() - started
            if failure:
                break
            if version.get("status") == "superseded" or any(
                (version.get(k) or {}).get("status") == "cancelled" for k in CHECKS
            ):
                failure = f"{name} {label} was superseded by a newer version; its checks stopped"
                break
            if "simulation" in shown:
                break
            if version.get("status") in ("lint_failed", "simulation_failed"):
                failure = f"{name} {label} is {version['status'].replace('_', ' ')}"
                break
            if elapsed > timeout:
                failure = f"gave up waiting after {timeout:g}s; {name} {label} is still {version.get('status')}"
                raise HmsError(failure, code="timeout", body=version)
            time.sleep(POLL_INTERVAL_S)
            version = client.get(version_path(version["rule"], version["number"]))

    version["name"] = name
    version["checks_took_s"] = round(elapsed, 2)
    if failure:
        raise HmsError(failure, code=version.get("status") or "failed", body=version)
    out.line(f"⏳ Waiting for peer review ... (checks took {elapsed:.2f}s)")
    out.result(version)


@rule.command()
@click.argument("slug", metavar="RULE")
@click.option("--approve", is_flag=True)
@click.option("--reject", is_flag=True)
@click.option("--comment", default="")
@click.option("--role", default=None, help="the sign-off to give, when you hold several")
@click.option("--version", "number", type=VERSION, default=None, metavar="N", help="review vN instead of the latest")
@global_options
@click.pass_obj
def review(
    session: Session, slug: str, approve: bool, reject: bool, comment: str, role: str | None, number: int | None
) -> None:
    """Approve or reject the latest version."""
    if approve == reject:
        raise click.UsageError("give one of --approve and --reject")
    decision = "approve" if approve else "reject"
    comment = comment.strip()
    if decision == "reject" and not comment:
        raise HmsError("--reject needs --comment TEXT saying why", exit_code=EXIT_USAGE)
    out = session.out
    client = session.client()
    version: dict[str, Any] | None
    if number:
        version = client.get(version_path(slug, number))
    else:
        body = client.get(f"/rules/{quote(slug)}/")
        version = body.get("latest")
        if not version:
            raise HmsError(f"{body.get('name', slug)} has no versions to review")
    number = version["number"]
    body = {"decision": decision, "expected_hash": version["content_hash"], "comment": comment}
    if role:
        body["role"] = role
    answer = client.post(f"{version_path(slug, number)}reviews/", body)
    given = answer.get("review") or {}
    label = f"v{answer.get('version', number)}"
    if decision == "reject":
        out.line(f"✋ Rejected {label} ({given.get('role')}): {given.get('comment', comment)}")
    elif answer.get("status") == "approved":
        out.line("✅ All required reviews received.")
        staging = answer.get("staging") or {}
        if staging.get("version") == answer.get("version", number):
            out.line("🚀 Promoted to STAGING")
    else:
        try:
            missing = client.get(version_path(slug, number)).get("missing_roles")
        except HmsError:
            missing = None
        if missing is None:
            missing = [r for r in version.get("missing_roles") or [] if r != given.get("role")]
        still = f"; still needed: {', '.join(missing)}" if missing else ""
        out.line(f"🖊  Approved as {given.get('role')} by {given.get('reviewer')}{still}")
        answer["missing_roles"] = missing
    out.result(answer)


@rule.command()
@click.argument("slug", metavar="RULE")
@click.option("--env", default="production", type=click.Choice(ENVIRONMENTS))
@version_option("deploy vN: the version on staging, or one live in that environment before (default: staging's)")
@NOTE_OPTION
@global_options
@click.pass_obj
def deploy(session: Session, slug: str, env: str, number: int | None, note: str) -> None:
    """Promote the staging version to production, or deploy again a version live there before."""
    environment = env_name(env)
    deployment = session.client().post(f"/rules/{quote(slug)}/promote/", release_body(environment, number, note))
    name, label = deployment.get("rule_name", slug), deployment.get("to")
    again = " again" if deployment.get("kind") == "redeploy" else ""
    if environment == "staging":
        session.out.line(f"🚀 {name} on STAGING{again} ({label})")
    else:
        session.out.line(f"🎉 {name} now LIVE{again} ({label})")
    session.out.result(deployment)


@rule.command()
@click.argument("slug", metavar="RULE")
@click.option("--to", "target", default="previous", help="previous (default), vN, or v0 to withdraw the rule")
@click.option("--reason", default="")
@click.option("--env", default="production", type=click.Choice(["prod", "production", "staging", "stage"]))
@global_options
@click.pass_obj
def rollback(session: Session, slug: str, target: str, reason: str, env: str) -> None:
    """Move a live pointer back."""
    reason = reason.strip()
    if not reason:
        raise HmsError('a rollback needs --reason "TEXT" saying why', exit_code=EXIT_USAGE)
    client = session.client()
    environment = env_name(env)
    # Say what we saw live, so a second rollback racing this one is refused, not applied twice.
    releases = client.get(f"/rules/{quote(slug)}/").get("releases", {})
    seen = releases.get(environment, {}).get("label")  # an unknown environment is the server's to refuse
    body = {"environment": environment, "to": target, "reason": reason, "expected_from": seen}
    deployment = client.post(f"/rules/{quote(slug)}/rollback/", body)
    duration = float(deployment.get("duration_s") or 0)
    # Sub-10 ms rollbacks are the norm; a third decimal keeps them from reading as "0.00s".
    shown = f"{duration:.2f}" if duration >= 0.01 else f"{duration:.3f}"
    session.out.line(f"↩️  Reverted to {deployment.get('to')} in {shown}s ({deployment.get('reason', reason)})")
    session.out.result(deployment)


def schedule_time(text: str) -> str:
    """An ISO 8601 time for the API; without an offset it is this machine's local time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HmsError(
            f"--at {text!r} is not a date and time; write it like 2027-01-01T00:00+01:00", exit_code=EXIT_USAGE
        ) from None
    return (when if when.tzinfo else when.astimezone()).isoformat()


def schedule_line(item: dict[str, Any]) -> str:
    """One scheduled promotion: id, version, where, when, state and by whom."""
    line = (
        f"#{item['id']}  {item['label']} → {item['environment']} at {item['at']}  {item['state']}"
        f"  (scheduled by {item['scheduled_by']})"
    )
    return f"{line}: {item['outcome']}" if item.get("outcome") else line


@rule.command()
@click.argument("slug", metavar="RULE")
@click.option("--at", "at", required=True, help="when, e.g. 2027-01-01T00:00+01:00 (no offset: this machine's zone)")
@click.option("--environment", "--env", "env", default="production", type=click.Choice(ENVIRONMENTS))
@version_option("the version to put live then: the one on staging now (default), or one live there before")
@NOTE_OPTION
@global_options
@click.pass_obj
def schedule(session: Session, slug: str, at: str, env: str, number: int | None, note: str) -> None:
    """Schedule a promotion: the portal carries it out at that time, if the release rules still allow it."""
    body = {**release_body(env_name(env), number, note), "at": schedule_time(at)}
    item = session.client().post(f"/rules/{quote(slug)}/schedules/", body)
    session.out.line(f"🗓️  Scheduled {item['label']} for {item['environment'].upper()} at {item['at']} (#{item['id']})")
    session.out.result(item)


@rule.command()
@click.argument("slug", metavar="RULE")
@global_options
@click.pass_obj
def schedules(session: Session, slug: str) -> None:
    """The rule's scheduled promotions: waiting, done, cancelled and failed."""
    body = session.client().get(f"/rules/{quote(slug)}/schedules/")
    items = body.get("schedules") or []
    for item in items:
        session.out.line(schedule_line(item))
    if not items:
        session.out.line("(no scheduled promotions)")
    session.out.result(body)


@rule.command()
@click.argument("slug", metavar="RULE")
@click.argument("schedule_id", metavar="ID", type=VERSION)
@click.option("--reason", default="", help="why, kept with the cancellation")
@global_options
@click.pass_obj
def unschedule(session: Session, slug: str, schedule_id: int, reason: str) -> None:
    """Cancel a scheduled promotion that has not been carried out yet."""
    body = {"reason": reason.strip()} if reason.strip() else {}
    item = session.client().post(f"/rules/{quote(slug)}/schedules/{int(schedule_id)}/cancel/", body)
    session.out.line(f"🚫 Cancelled #{item['id']}: {item['label']} → {item['environment']} at {item['at']}")
    session.out.result(item)


@rule.command()
@click.argument("slug", metavar="RULE")
@global_options
@click.pass_obj
def status(session: Session, slug: str) -> None:
    """Live pointers, versions and their checks."""
    out = session.out
    body = session.client().get(f"/rules/{quote(slug)}/")
    title = f" — {body['title']}" if body.get("title") else ""
    program = f" [{body['program']}]" if body.get("program") else ""
    out.line(f"{body.get('name', body.get('rule'))}{title}{program}")
    releases = body.get("releases") or {}
    out.line("  ".join(f"{env}: {release.get('label') or 'v0'}" for env, release in releases.items()))
    if body.get("versions"):
        out.table(versions_table(body))
    else:
        out.line("(no versions)")
    out.result(body)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script passes it to sys.exit)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    session = Session()
    try:
        with hms.make_context("hms", argv, obj=session) as ctx:
            hms.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.UsageError as exc:
        # A usage error can come before all the options are read, so --json is taken from the words given.
        where = exc.ctx.command_path if exc.ctx else "hms"
        message = f"{exc.format_message().rstrip('.')} (see {where} --help)"
        Output("--json" in argv).error(HmsError(message, exit_code=EXIT_USAGE))
        return EXIT_USAGE
    except HmsError as exc:
        session.out.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        session.out.error(HmsError("interrupted", exit_code=EXIT_INTERRUPTED))
        return EXIT_INTERRUPTED
    return EXIT_OK
