"""The HTTP client of the portal's REST API (urllib only), and `HmsError`, the failure every command reports."""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8000"
API = "/api/v1"
HTTP_TIMEOUT_S = 60

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class HmsError(Exception):
    """A failure reported as one line on stderr (and as {"error": ...} under --json)."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = EXIT_FAILED,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status
        self.code = code
        self.details = details
        self.body = body

    def line(self) -> str:
        if self.status is not None:
            return f"hms: {self.status} {self.code}: {self.message}"
        return f"hms: {self.message}"

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code or ("usage" if self.exit_code == EXIT_USAGE else "failed"),
            "message": self.message,
        }
        if self.status is not None:
            error["status"] = self.status
        if self.details:
            error["details"] = self.details
        data: dict[str, Any] = {"error": error}
        if self.body is not None:
            data["result"] = self.body
        return data


def one_line(text: object) -> str:
    return " ".join(str(text).split())


class Client:
    """Requests to one portal, with a user's API token when given; every failure is an `HmsError`."""

    def __init__(self, server: str, token: str | None = None, user: str | None = None) -> None:
        self.server = server
        self.token = token
        self.user = user

    def request(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None) -> dict[str, Any]:
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

    def _api_error(self, exc: urllib.error.HTTPError) -> HmsError:
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

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> dict[str, Any]:
        return self.request("POST", path, body=body, raw=raw)


def quote(slug: str) -> str:
    return urllib.parse.quote(slug, safe="")


def normalise_server(text: str | None) -> str:
    text = (text or "").strip() or DEFAULT_SERVER
    if "://" not in text:
        text = f"http://{text}"
    return text.rstrip("/")
