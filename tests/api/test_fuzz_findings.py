"""What fuzzing the API against its schema found (tests/api/test_schema_fuzz.py), each held in place.

An address under /api/ that matches no endpoint (a slug with a space in it, a negative version number)
was answered with the portal's HTML "Not found" page, which the schema does not describe: every API
error is the JSON body {"error": {"code", "message"}}. And the schema gave the path parameters as any
text and any integer, where the addresses take a slug and a number.
"""

import pytest
from django.urls import reverse

from tests.api.support import assert_error_body

SLUG = "wildfire-aid-2024"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/rules/the%20text/"),
        ("get", f"/api/v1/rules/{SLUG}/versions/-1/"),
        ("get", f"/api/v1/rules/{SLUG}/versions/v1/"),
        ("post", "/api/v1/rules/K%26%C3%82/promote/"),
        ("post", f"/api/v1/rules/{SLUG}/versions/%C2%BA/reviews/"),
        ("get", "/api/v1/no-such-endpoint/"),
        ("get", "/api/v2/rules/"),
    ],
)
@pytest.mark.parametrize("who", [None, "counsel"])
def test_an_api_address_matching_no_endpoint_is_a_json_404(in_review, api, counsel, method, path, who):
    """An address under /api/ that matches no endpoint answers 404 with the API's JSON error, signed in or not."""
    client = api(counsel if who else None)
    response = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
    error = assert_error_body(response, 404, "not_found")
    assert "/api/docs/" in error["message"]


def test_a_portal_address_matching_no_page_is_still_the_portal_page(client):
    """Outside /api/ an unknown address is still the portal's HTML 'Not found' page."""
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content


def test_the_schema_gives_path_parameters_as_the_addresses_take_them(db, client):
    """Every {slug} in the schema is a slug (the pattern of Django's slug converter), every {number} and {id} a
    whole number."""
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    seen = set()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                seen.add(parameter["name"])
                expected = {
                    "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
                    "number": {"type": "integer", "minimum": 0},
                    "id": {"type": "integer", "minimum": 0},
                }[parameter["name"]]
                assert parameter["schema"] == expected, (path, parameter)
                assert parameter.get("description"), (path, parameter)
    assert seen == {"slug", "number", "id"}


def test_every_operation_documents_the_database_unavailable_answer(db, client):
    """Each operation lists 503 with the error body, which the portal answers when the database is lost
    (pdp_portal/middleware.py; tests/faults/test_database_dropped.py)."""
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    operations = [
        op
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/")  # not the schema's own page
        for op in ops.values()
        if isinstance(op, dict)
    ]
    assert operations
    for operation in operations:
        answer = operation["responses"]["503"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
