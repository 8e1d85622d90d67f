"""The security settings: `check --deploy` is clean behind TLS, the local run stays plain HTTP, every
response carries a Content-Security-Policy without inline script, and no template holds any."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION_LIKE = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-key-of-sixty-characters-or-so",
    "ALLOWED_HOSTS": "pdp.example.gov",
    "PDP_TLS": "1",
}


def check_deploy(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "pdp_portal.settings", "PDP_DATA_DIR": str(tmp_path), **PRODUCTION_LIKE, **extra}
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_issue_behind_tls(tmp_path):
    """With PDP_TLS=1 and a real key and host, Django's deployment checks (and the apps') find nothing."""
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_tls_is_off(tmp_path):
    """The same environment without PDP_TLS gets the warnings, so the test above can fail."""
    result = check_deploy(tmp_path, PDP_TLS="0")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


def test_the_local_run_serves_plain_http(client, settings):
    """By default nothing redirects to HTTPS and no cookie is marked Secure: `make run` works on 127.0.0.1."""
    assert settings.SECURE_SSL_REDIRECT is False and settings.SECURE_HSTS_SECONDS == 0
    response = client.get("/login/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "secure" not in str(response.cookies.get("csrftoken", "")).lower()


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/api/docs/", "/api/schema/", "/no-such-page/"])
def test_every_response_carries_the_policy_without_inline_script(client, db, path):
    """Portal pages, the admin, the API docs and error pages: script only from the portal (and, on the
    docs page, Swagger UI's CDN), never inline, never eval; no framing."""
    policy = client.get(path).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"].split()[0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    if path != "/api/docs/":
        assert directives["style-src"] == "'self'" and directives["script-src"] == "'self'"


INLINE = [
    ("inline script", re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", re.I)),
    ("event handler attribute", re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)),
    ("style attribute", re.compile(r"<[^>]+\sstyle\s*=", re.I)),
    ("javascript: URL", re.compile(r"javascript:", re.I)),
]


def test_no_template_holds_inline_script_or_style():
    """What the policy would refuse is not in any template: scripts and styles live in static files."""
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for name, pattern in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(ROOT)}:{line}: {name}: {match.group(0)[:80]}")
    assert not found, "\n".join(found)
