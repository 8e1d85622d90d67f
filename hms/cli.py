"""`hms`: the command-line client of the Policy Deployment Pipeline.

It speaks only HTTP to the portal's REST API and imports nothing from Django or the project,
so it runs anywhere Python does. Exit codes: 0 success, 1 the portal refused or a check
failed, 2 a usage error, a missing login, or a portal that could not be reached.
"""

import argparse
import getpass
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_SERVER = "http://127.0.0.1:8000"
API = "/api/v1"
HTTP_TIMEOUT_S = 60
POLL_INTERVAL_S = 0.2
FINISHED = ("passed", "failed", "cancelled")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class HmsError(Exception):
    """A failure reported as one line on stderr (and as {"error": ...} under --json)."""

    def __init__(self, message, *, exit_code=EXIT_FAILED, status=None, code=None, details=None, body=None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status
        self.code = code
        self.details = details
        self.body = body

    def line(self):
        if self.status is not None:
            return f"hms: {self.status} {self.code}: {self.message}"
        return f"hms: {self.message}"

    def as_json(self):
        error = {"code": self.code or ("usage" if self.exit_code == EXIT_USAGE else "failed"), "message": self.message}
        if self.status is not None:
            error["status"] = self.status
        if self.details:
            error["details"] = self.details
        data = {"error": error}
        if self.body is not None:
            data["result"] = self.body
        return data


def one_line(text):
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------------------------
# Formatting


def short_money(value):
    """$98M, $1.2B, $950K, $420: one decimal at most, none from 100 of a unit up."""
    value = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            scaled = value / size
            text = f"{scaled:.1f}".rstrip("0").rstrip(".") if abs(scaled) < 100 else f"{scaled:.0f}"
            return f"${text}{suffix}"
    return f"${value:,.0f}"


def dotted(label):
    """`Lint .............` and `Simulation .......`: the status words line up."""
    return f"{label} {'.' * max(3, 17 - len(label))}"


def finding_line(item):
    mark = "✗" if item.get("severity") == "error" else "⚠"
    where = f" at {item['path']}" if item.get("path") else ""
    return f"   {mark} {item.get('code', '?')}{where}: {one_line(item.get('message', ''))}"


def findings_of(check, severity):
    return [f for f in (check.get("findings") or []) if f.get("severity") == severity]


def cost_phrase(result):
    """`Cost: $98M within budget` / `Declared cost: $2B over budget by $1B`, or None without a cost."""
    if not result or result.get("cost") is None:
        return None
    label = "Declared cost" if result.get("cost_source") == "declared" else "Cost"
    text = f"{label}: {short_money(result['cost'])}"
    if result.get("within_budget") is True:
        return f"{text} within budget"
    if result.get("within_budget") is False:
        return f"{text} over budget by {short_money(result.get('over_by') or 0)}"
    return text


def check_lines(kind, check):
    """The final line of a finished check, then its findings (errors first)."""
    if kind == "lint":
        head = f"🔍 {dotted('Lint')} {check['status'].upper()}"
    else:
        head = f"🧪 {dotted('Simulation')} {check['status'].upper()}"
        phrase = cost_phrase(check.get("result"))
        if phrase and check["status"] != "cancelled":
            head += f" ({phrase})"
    lines = [head]
    lines += [finding_line(f) for f in findings_of(check, "error")]
    lines += [finding_line(f) for f in findings_of(check, "warning")]
    return lines


def env_name(text):
    return {"prod": "production", "stage": "staging"}.get(text, text)


# ---------------------------------------------------------------------------------------------
# Token store


def config_dir():
    if os.environ.get("HMS_CONFIG_DIR"):
        return Path(os.environ["HMS_CONFIG_DIR"]).expanduser()
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]).expanduser() / "hms"
    return Path.home() / ".config" / "hms"


class TokenStore:
    """tokens.json: {"servers": {URL: {"default_user": NAME, "tokens": {NAME: KEY}}}}, mode 0600."""

    def __init__(self, folder=None):
        self.path = (folder or config_dir()) / "tokens.json"

    def load(self):
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"servers": {}}
        except (OSError, ValueError) as exc:
            raise HmsError(f"cannot read {self.path}: {exc}", exit_code=EXIT_USAGE) from exc
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            raise HmsError(f"{self.path} is not an hms token file; remove it and log in again", exit_code=EXIT_USAGE)
        return data

    def save(self, data):
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written to a private temporary file and renamed, so the token is never readable by
        # others, not even for a moment, and a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(prefix=".tokens.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remember(self, server, user, token):
        data = self.load()
        entry = data["servers"].setdefault(server, {"tokens": {}})
        entry.setdefault("tokens", {})[user] = token
        entry["default_user"] = user
        self.save(data)

    def token_for(self, server, user):
        """(user, token) for `user`, or for the last user logged in to `server`."""
        entry = self.load()["servers"].get(server) or {}
        user = user or entry.get("default_user")
        if not user:
            raise HmsError(f"not logged in to {server}; run: hms login --user NAME", exit_code=EXIT_USAGE)
        token = (entry.get("tokens") or {}).get(user)
        if not token:
            raise HmsError(f"{user} is not logged in to {server}; run: hms login --user {user}", exit_code=EXIT_USAGE)
        return user, token


# ---------------------------------------------------------------------------------------------
# HTTP


class Client:
    def __init__(self, server, token=None, user=None):
        self.server = server
        self.token = token
        self.user = user

    def request(self, method, path, *, body=None, raw=None):
        url = f"{self.server}{API}{path}"
        headers = {"Accept": "application/json", "User-Agent": "hms/1"}
        data = None
        if raw is not None:
            data = raw
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise self._api_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HmsError(
                f"the portal at {self.server} could not be reached ({one_line(reason)})", exit_code=EXIT_USAGE
            ) from None
        try:
            return json.loads(payload) if payload else {}
        except ValueError:
            raise HmsError(
                f"the portal at {self.server} answered {method} {path} with something other than JSON"
            ) from None

    def _api_error(self, exc):
        try:
            payload = exc.read()
        except OSError:
            payload = b""
        code, message, details = "error", exc.reason or "request failed", None
        try:
            error = json.loads(payload).get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, dict):
            code = error.get("code") or code
            message = error.get("message") or message
            details = error.get("details")
        else:
            code = {500: "server_error", 502: "bad_gateway", 503: "unavailable"}.get(exc.code, "http_error")
            message = f"the portal answered HTTP {exc.code} {exc.reason}"
        if exc.code == 401 and self.user:
            message = f"{message} (log in again: hms login --user {self.user})"
        return HmsError(one_line(message), status=exc.code, code=code, details=details)

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None, *, raw=None):
        return self.request("POST", path, body=body, raw=raw)


def quote(slug):
    return urllib.parse.quote(slug, safe="")


def normalise_server(text):
    text = (text or "").strip() or DEFAULT_SERVER
    if "://" not in text:
        text = f"http://{text}"
    return text.rstrip("/")


# ---------------------------------------------------------------------------------------------
# Output


class Output:
    def __init__(self, as_json, stdout=None, stderr=None):
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._pending = False  # a progress line written with \r and not yet ended

    @property
    def tty(self):
        return not self.as_json and hasattr(self.stdout, "isatty") and self.stdout.isatty()

    def line(self, text=""):
        if self.as_json:
            return
        if self._pending:
            self.stdout.write("\r\x1b[K")
            self._pending = False
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def progress(self, text):
        if not self.tty:
            return
        self.stdout.write("\r\x1b[K" + text)
        self.stdout.flush()
        self._pending = True

    def result(self, data):
        if self.as_json:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
            self.stdout.flush()

    def error(self, exc):
        if self._pending:
            self.stdout.write("\n")
            self._pending = False
        if self.as_json:
            self.result(exc.as_json())
        self.stderr.write(exc.line() + "\n")
        self.stderr.flush()


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_login(args, out):
    if not args.user:
        raise HmsError("login needs --user NAME", exit_code=EXIT_USAGE)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass(f"Password for {args.user} at {args.server}: ")
        except EOFError:
            password = ""
    if not password:
        raise HmsError("no password given", exit_code=EXIT_USAGE)
    client = Client(args.server)
    body = client.post("/auth/token/", {"username": args.user, "password": password})
    token = body.get("token")
    if not token:
        raise HmsError(f"the portal at {args.server} did not answer with a token")
    store = TokenStore()
    store.remember(args.server, args.user, token)
    out.line(f"Logged in to {args.server} as {args.user}.")
    out.result({"server": args.server, "user": args.user, "tokens_file": str(store.path)})


def authed(args):
    user, token = TokenStore().token_for(args.server, args.user)
    return Client(args.server, token=token, user=user)


def version_path(slug, number):
    return f"/rules/{quote(slug)}/versions/{int(number)}/"


def cmd_push(args, out):
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HmsError(f"cannot read {path}: {exc.strerror or exc}", exit_code=EXIT_USAGE) from None
    client = authed(args)
    started = time.monotonic()
    version = client.post("/rules/", raw=raw)
    name = version.get("name") or version["rule"]
    label = version.get("label") or f"v{version['number']}"
    out.line(f"📤 Uploaded {name}  ({label})")
    if args.no_wait:
        out.result(version)
        return EXIT_OK

    shown = set()
    failure = None
    while True:
        for kind, title in (("lint", "Lint"), ("simulation", "Simulation")):
            check = version.get(kind)
            if kind in shown or not check:
                continue
            if check["status"] in FINISHED:
                for text in check_lines(kind, check):
                    out.line(text)
                shown.add(kind)
                if check["status"] == "failed":
                    errors = findings_of(check, "error")
                    first = f" ({errors[0].get('code')}: {one_line(errors[0].get('message', ''))})" if errors else ""
                    failure = f"{name} {label} failed {kind}{first}"
            elif check["status"] == "running":
                note = f" {check['progress_note']}" if check.get("progress_note") else ""
                icon = "🔍" if kind == "lint" else "🧪"
                out.progress(f"{icon} {dotted(title)} {check.get('progress', 0)}%{note}")
        elapsed = time.monotonic() - started
        if failure:
            break
        if version.get("status") == "superseded" or any(
            (version.get(k) or {}).get("status") == "cancelled" for k in ("lint", "simulation")
        ):
            failure = f"{name} {label} was superseded by a newer version; its checks stopped"
            break
        if "simulation" in shown:
            break
        if version.get("status") in ("lint_failed", "simulation_failed"):
            failure = f"{name} {label} is {version['status'].replace('_', ' ')}"
            break
        if elapsed > args.timeout:
            failure = f"gave up waiting after {args.timeout:g}s; {name} {label} is still {version.get('status')}"
            raise HmsError(failure, code="timeout", body=version)
        time.sleep(POLL_INTERVAL_S)
        version = client.get(version_path(version["rule"], version["number"]))

    version["name"] = name
    version["checks_took_s"] = round(elapsed, 2)
    if failure:
        raise HmsError(failure, code=version.get("status") or "failed", body=version)
    out.line(f"⏳ Waiting for peer review ... (checks took {elapsed:.2f}s)")
    out.result(version)
    return EXIT_OK


def cmd_review(args, out):
    decision = "approve" if args.approve else "reject"
    comment = (args.comment or "").strip()
    if decision == "reject" and not comment:
        raise HmsError("--reject needs --comment TEXT saying why", exit_code=EXIT_USAGE)
    client = authed(args)
    if args.version:
        version = client.get(version_path(args.rule, args.version))
    else:
        rule = client.get(f"/rules/{quote(args.rule)}/")
        version = rule.get("latest")
        if not version:
            raise HmsError(f"{rule.get('name', args.rule)} has no versions to review")
    number = version["number"]
    body = {"decision": decision, "expected_hash": version["content_hash"], "comment": comment}
    if args.role:
        body["role"] = args.role
    answer = client.post(f"{version_path(args.rule, number)}reviews/", body)
    review = answer.get("review") or {}
    label = f"v{answer.get('version', number)}"
    if decision == "reject":
        out.line(f"✋ Rejected {label} ({review.get('role')}): {review.get('comment', comment)}")
    elif answer.get("status") == "approved":
        out.line("✅ All required reviews received.")
        staging = answer.get("staging") or {}
        if staging.get("version") == answer.get("version", number):
            out.line("🚀 Promoted to STAGING")
    else:
        try:
            missing = client.get(version_path(args.rule, number)).get("missing_roles")
        except HmsError:
            missing = None
        if missing is None:
            missing = [r for r in version.get("missing_roles") or [] if r != review.get("role")]
        still = f"; still needed: {', '.join(missing)}" if missing else ""
        out.line(f"🖊  Approved as {review.get('role')} by {review.get('reviewer')}{still}")
        answer["missing_roles"] = missing
    out.result(answer)
    return EXIT_OK


def cmd_deploy(args, out):
    client = authed(args)
    body = {"environment": env_name(args.env)}
    if args.version:
        body["version"] = args.version
    deployment = client.post(f"/rules/{quote(args.rule)}/promote/", body)
    out.line(f"🎉 {deployment.get('rule_name', args.rule)} now LIVE ({deployment.get('to')})")
    out.result(deployment)
    return EXIT_OK


def cmd_rollback(args, out):
    reason = (args.reason or "").strip()
    if not reason:
        raise HmsError('a rollback needs --reason "TEXT" saying why', exit_code=EXIT_USAGE)
    client = authed(args)
    environment = env_name(args.env)
    # Say what we saw live, so a second rollback racing this one is refused, not applied twice.
    releases = client.get(f"/rules/{quote(args.rule)}/").get("releases", {})
    seen = releases.get(environment, {}).get("label")  # an unknown environment is the server's to refuse
    body = {"environment": environment, "to": args.to, "reason": reason, "expected_from": seen}
    deployment = client.post(f"/rules/{quote(args.rule)}/rollback/", body)
    duration = float(deployment.get("duration_s") or 0)
    # Sub-10 ms rollbacks are the norm; a third decimal keeps them from reading as "0.00s".
    shown = f"{duration:.2f}" if duration >= 0.01 else f"{duration:.3f}"
    out.line(f"↩️  Reverted to {deployment.get('to')} in {shown}s ({deployment.get('reason', reason)})")
    out.result(deployment)
    return EXIT_OK


def _check_summary(kind, check):
    if not check:
        return f"{kind} -"
    text = f"{kind} {check['status']}"
    if check["status"] == "running":
        text += f" {check.get('progress', 0)}%"
    return text


def cmd_status(args, out):
    client = authed(args)
    rule = client.get(f"/rules/{quote(args.rule)}/")
    title = f" — {rule['title']}" if rule.get("title") else ""
    program = f" [{rule['program']}]" if rule.get("program") else ""
    out.line(f"{rule.get('name', rule.get('rule'))}{title}{program}")
    releases = rule.get("releases") or {}
    out.line("  ".join(f"{env}: {release.get('label') or 'v0'}" for env, release in releases.items()))
    versions = rule.get("versions") or []
    if not versions:
        out.line("(no versions)")
    live = {}
    for env, release in releases.items():
        live.setdefault(release.get("version"), []).append(env)
    for version in versions:
        parts = [
            f"v{version['number']}".ljust(4),
            version["status"].replace("_", " ").ljust(17),
            _check_summary("lint", version.get("lint")).ljust(16),
            _check_summary("simulation", version.get("simulation")).ljust(22),
        ]
        phrase = cost_phrase((version.get("simulation") or {}).get("result"))
        if phrase:
            parts.append(phrase)
        if version["number"] in live:
            parts.append(f"(live: {', '.join(live[version['number']])})")
        out.line("  ".join(parts).rstrip())
    out.result(rule)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Parser


class Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, like every other failure."""

    def error(self, message):
        raise HmsError(f"{message} (see {self.prog} --help)", exit_code=EXIT_USAGE)


def _global_options(parser, *, suppress):
    # The same options on the top parser (with defaults) and on every subcommand (without), so
    # `hms --json rule push F` and `hms rule push F --json` both work and neither undoes the other.
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser.add_argument(
        "--server",
        default=default(None),
        help=f"portal address (env HMS_SERVER, default {DEFAULT_SERVER})",
    )
    parser.add_argument("--user", default=default(None), help="whose stored token to use (default: last logged in)")
    parser.add_argument("--json", action="store_true", default=default(False), help="print one JSON object")


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)

    parser = Parser(
        prog="hms", description="Push, review, deploy and roll back rules on the Policy Deployment Pipeline."
    )
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    login = commands.add_parser("login", parents=[common], help="log in and store a token")
    login.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    login.set_defaults(handler=cmd_login)

    rule = commands.add_parser("rule", parents=[common], help="work with rules")
    rules = rule.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    rules.required = True

    push = rules.add_parser("push", parents=[common], help="upload a rule document and wait for its checks")
    push.add_argument("file", metavar="FILE")
    push.add_argument("--no-wait", action="store_true", help="do not wait for lint and simulation")
    push.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the checks (default 300)")
    push.set_defaults(handler=cmd_push)

    review = rules.add_parser("review", parents=[common], help="approve or reject the latest version")
    review.add_argument("rule", metavar="RULE")
    decision = review.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true")
    decision.add_argument("--reject", action="store_true")
    review.add_argument("--comment", default="")
    review.add_argument("--role", default=None, help="the sign-off to give, when you hold several")
    review.add_argument("--version", type=int, default=None, metavar="N", help="review vN instead of the latest")
    review.set_defaults(handler=cmd_review)

    deploy = rules.add_parser("deploy", parents=[common], help="promote the staging version to production")
    deploy.add_argument("rule", metavar="RULE")
    deploy.add_argument("--env", default="production", choices=["prod", "production"])
    deploy.add_argument("--version", type=int, default=None, metavar="N", help="refuse unless vN is on staging")
    deploy.set_defaults(handler=cmd_deploy)

    rollback = rules.add_parser("rollback", parents=[common], help="move a live pointer back")
    rollback.add_argument("rule", metavar="RULE")
    rollback.add_argument("--to", default="previous", help="previous (default), vN, or v0 to withdraw the rule")
    rollback.add_argument("--reason", default="")
    rollback.add_argument("--env", default="production", choices=["prod", "production", "staging", "stage"])
    rollback.set_defaults(handler=cmd_rollback)

    status = rules.add_parser("status", parents=[common], help="live pointers, versions and their checks")
    status.add_argument("rule", metavar="RULE")
    status.set_defaults(handler=cmd_status)
    return parser


def main(argv=None):
    """Run one command; returns the exit code (the console script passes it to sys.exit)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    out = Output(as_json)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        out = Output(args.json)
        args.server = normalise_server(args.server or os.environ.get("HMS_SERVER"))
        code = args.handler(args, out)
        return EXIT_OK if code is None else code
    except HmsError as exc:
        out.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        out.error(HmsError("interrupted", exit_code=130))
        return 130


if __name__ == "__main__":
    sys.exit(main())
