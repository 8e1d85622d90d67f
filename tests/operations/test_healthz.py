"""/healthz: the process answers, touching nothing else."""

import pytest


@pytest.mark.django_db
def test_healthz_answers_ok_without_a_query_a_cookie_or_a_redirect(client, settings, django_assert_num_queries):
    """200 {"status": "ok"}, no query, no cookie, and no HTTPS redirect even where the site redirects to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.cookies == {}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_other_routes_of_a_tls_site_still_redirect(client, settings):
    """The exemption is the probes' and the metrics' only: a page still goes to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200
    assert client.get("/rules/").status_code == 301


def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405
