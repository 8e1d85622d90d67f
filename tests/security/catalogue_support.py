"""What the hostile-input catalogue compares and how it drives each surface.

`stored()` is everything a refused request could have written, the audit history aside; the
catalogue takes it before and after each case. `HttpThroughTestClient` carries `hms`'s HTTP
requests through Django's test client instead of a socket, so the CLI meets the same views,
parsers and services in the test's own transaction.
"""

import io
import urllib.error
import urllib.parse
from dataclasses import dataclass, field
from html import unescape

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from audit.models import AuditEvent
from budget.models import Dataset, Fund
from deployments.models import TestAccount
from reviews.models import ReviewComment
from tests.api.support import state
from tokens.models import ApiToken


@dataclass(frozen=True)
class Case:
    """One hostile input: its id, what is sent, and a fragment of the message that must come back."""

    id: str
    send: object
    says: str
    extra: dict = field(default_factory=dict)


def params(cases, **marks):
    """pytest params with the cases' ids; `marks` maps an id to the marks it carries."""
    import pytest

    return [pytest.param(case, id=case.id, marks=marks.get(case.id, ())) for case in cases]


def stored():
    """Everything a request could store, except the audit history."""
    folder = settings.DATA_DIR / "datasets"
    return {
        **state(),
        "datasets": list(Dataset.objects.order_by("pk").values_list("pk", "name", "sha256", "is_default")),
        "dataset_files": sorted(p.name for p in folder.iterdir()) if folder.exists() else [],
        "funds": list(Fund.objects.order_by("pk").values_list("pk", "code", "name", "appropriation", "fiscal_year")),
        "comments": list(ReviewComment.objects.order_by("pk").values_list("pk", "body")),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        "people": list(
            User.objects.order_by("pk").values_list("pk", "username", "is_active", "is_staff", "is_superuser")
        ),
        "groups": list(Group.objects.order_by("pk").values_list("pk", "name")),
        "test_accounts": list(TestAccount.objects.order_by("pk").values_list("pk", "account_id", "note")),
    }


def last_audit_id():
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(audit_id):
    return list(AuditEvent.objects.filter(id__gt=audit_id).order_by("id"))


def page_text(response):
    """A page's text as a reader sees it: entities unescaped, whitespace collapsed."""
    return " ".join(unescape(response.content.decode("utf-8", errors="replace")).split())


def form_errors(response, name="adminform"):
    """The error messages of the admin form on a page, as one list."""
    form = response.context[name].form
    return [message for messages in form.errors.values() for message in messages]


class HttpThroughTestClient:
    """`urllib.request.urlopen` for `hms`, answered by Django's test client (the network is the edge)."""

    def __init__(self):
        self.client = Client()
        self.requests = []

    def __call__(self, request, timeout=None):
        url = urllib.parse.urlsplit(request.full_url)
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.header_items()
            if name.lower() != "content-type"
        }
        self.requests.append((request.get_method(), path))
        response = self.client.generic(
            request.get_method(),
            path,
            data=request.data or b"",
            content_type=request.get_header("Content-type") or "application/octet-stream",
            **headers,
        )
        if response.status_code >= 400:
            raise urllib.error.HTTPError(
                request.full_url,
                response.status_code,
                response.reason_phrase,
                response.headers,
                io.BytesIO(response.content),
            )
        return io.BytesIO(response.content)
