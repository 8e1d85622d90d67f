"""The Datasets and Funds pages: who may use them, what they show, and refusals shown on the form."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budget.models import Dataset, Fund
from budget.services import create_fund, ensure_default_dataset, upload_dataset
from tests.conftest import pipeline_events

from .conftest import GOOD_CSV, stored_files

ANONYMOUS = None


@pytest.fixture
def datasets(budget_officer):
    """The synthetic default and one uploaded dataset."""
    return ensure_default_dataset(), upload_dataset(GOOD_CSV, actor=budget_officer, name="Sample", filename="s.csv")


@pytest.fixture
def fund(budget_officer):
    return create_fund(actor=budget_officer, code="DRF-FY2025", name="Relief", appropriation=1000, fiscal_year=2025)


def _upload(name="Census sample", content=b"id,age,weight\n1,34,2\n"):
    return {"name": name, "file": SimpleUploadedFile("people.csv", content, content_type="text/csv")}


# endpoint → (method, url given the fixtures, POST data)
ENDPOINTS = {
    "datasets page": ("get", lambda d, f: reverse("dataset-list"), None),
    "upload": ("post", lambda d, f: reverse("dataset-list"), _upload),
    "make default": ("post", lambda d, f: reverse("dataset-default", args=[d[1].pk]), dict),
    "funds page": ("get", lambda d, f: reverse("fund-list"), None),
    "create fund": (
        "post",
        lambda d, f: reverse("fund-list"),
        lambda: {"code": "EDU-FY2026", "name": "", "appropriation": "5", "fiscal_year": "2026"},
    ),
    "fund page": ("get", lambda d, f: reverse("fund-edit", args=[f.pk]), None),
    "edit fund": (
        "post",
        lambda d, f: reverse("fund-edit", args=[f.pk]),
        lambda: {"name": "Relief", "appropriation": "2000", "fiscal_year": "2025"},
    ),
}
PEOPLE = [
    (ANONYMOUS, 302),
    ("outsider", 403),
    ("drafter", 403),
    ("counsel", 403),
    ("budget_officer", None),
    ("superuser", None),
]
CASES = [(endpoint, who, status) for endpoint in ENDPOINTS for who, status in PEOPLE]


@pytest.mark.parametrize(("endpoint", "who", "expected"), CASES, ids=[f"{e}-{w or 'anonymous'}" for e, w, _ in CASES])
def test_permission_matrix(request, client, datasets, fund, endpoint, who, expected):
    """Anonymous is sent to sign in, anyone but the budget office and superusers gets 403; they get 200 or 302."""
    method, url, data = ENDPOINTS[endpoint]
    if who is not None:
        client.force_login(request.getfixturevalue(who))
    target = url(datasets, fund)
    response = client.get(target) if method == "get" else client.post(target, data())
    expected = expected or (200 if method == "get" else 302)
    assert response.status_code == expected, response.content[:500]
    if who is None:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("endpoint", ["upload", "make default", "create fund", "edit fund"])
def test_forbidden_post_is_refused_by_the_service_and_recorded(client, datasets, fund, drafter, endpoint):
    """A POST by someone without the role reaches the service, which refuses it, records it, and changes nothing."""
    _, url, data = ENDPOINTS[endpoint]
    client.force_login(drafter)
    before = (list(Dataset.objects.values_list("pk", "is_default")), list(Fund.objects.values_list("appropriation")))
    response = client.post(url(datasets, fund), data())
    assert response.status_code == 403
    event = pipeline_events().order_by("-id").first()
    assert (event.outcome, event.actor) == ("refused", drafter)
    assert html.unescape(event.data["reason"]) in html.unescape(response.content.decode())
    after = (list(Dataset.objects.values_list("pk", "is_default")), list(Fund.objects.values_list("appropriation")))
    assert after == before


def test_get_on_make_default_is_not_allowed(client, datasets, budget_officer):
    """Make default is a POST: a link cannot change the default."""
    client.force_login(budget_officer)
    assert client.get(reverse("dataset-default", args=[datasets[1].pk])).status_code == 405


def test_unknown_dataset_or_fund_is_404(client, budget_officer):
    """A dataset or fund that does not exist is 404."""
    client.force_login(budget_officer)
    assert client.post(reverse("dataset-default", args=[999])).status_code == 404
    assert client.get(reverse("fund-edit", args=[999])).status_code == 404


def test_datasets_page_lists_the_datasets(client, datasets, budget_officer):
    """Each dataset shows its name, rows, columns with types, size, short hash, uploader and default tag."""
    synthetic, uploaded = datasets
    client.force_login(budget_officer)
    page = html.unescape(client.get(reverse("dataset-list")).content.decode())
    assert "Sample" in page and synthetic.name in page
    assert f"{synthetic.row_count:,}" in page
    assert uploaded.sha256[:12] in page and "budget_officer" in page and "generated" in page
    assert "<code>weight</code> decimal" in page and "<code>age</code> integer" in page
    assert "<code>in_fire_zone</code> boolean" in page and "<code>county</code> text" in page
    assert page.count(">default</span>") == 1
    assert page.count("Make default<span") == 1
    assert f'action="{reverse("dataset-default", args=[uploaded.pk])}"' in page


def test_upload_from_the_page(client, budget_officer, data_dir):
    """A good file uploaded from the page is stored and the page says so."""
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), _upload())
    assert response.status_code == 302 and response["Location"] == reverse("dataset-list")
    dataset = Dataset.objects.get()
    assert (dataset.name, dataset.row_count, dataset.created_by) == ("Census sample", 1, budget_officer)
    assert "Stored the dataset “Census sample” (1 rows)." in client.get(reverse("dataset-list")).content.decode()


def test_refused_upload_is_shown_on_the_form_with_400(client, budget_officer, data_dir):
    """A bad file is refused on the form with its reason and status 400; nothing is stored, the name is kept."""
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), _upload(content=b"id,age\n1,34\n2,old\n"))
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "The dataset was not stored" in page
    assert (
        "The column 'age' mixes numbers and text: it starts with numbers (line 2: '34') but line 3 has 'old'." in page
    )
    assert 'value="Census sample"' in page
    assert not Dataset.objects.exists() and stored_files(data_dir) == []
    assert pipeline_events().get().outcome == "refused"


def test_upload_without_a_file_is_400(client, budget_officer):
    """The form needs a file."""
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), {"name": "Nothing"})
    assert response.status_code == 400
    assert "Choose a CSV or Parquet file to upload." in response.content.decode()
    assert not Dataset.objects.exists()


def test_empty_file_is_refused_by_the_service(client, budget_officer, data_dir):
    """A 0-byte file reaches the service, which refuses it with its reason (400) and records the refusal."""
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), _upload(content=b""))
    assert response.status_code == 400
    assert "The file is empty (0 bytes)." in response.content.decode()
    assert pipeline_events().get().data["reason"] == "The file is empty (0 bytes)."
    assert not Dataset.objects.exists() and stored_files(data_dir) == []


def test_large_upload_is_read_from_its_temporary_file(client, settings, budget_officer):
    """An upload Django spooled to disk is handed to the service by path and stored like any other."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # every upload goes to a temporary file
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), _upload())
    assert response.status_code == 302
    assert Dataset.objects.get().row_count == 1


def test_make_default_from_the_page(client, datasets, budget_officer):
    """The Make default button moves the default and says so."""
    synthetic, uploaded = datasets
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-default", args=[uploaded.pk]))
    assert response.status_code == 302
    assert Dataset.objects.default() == uploaded
    assert "“Sample” is now the default dataset" in client.get(reverse("dataset-list")).content.decode()


def test_make_default_of_the_default_is_refused_on_the_page(client, datasets, budget_officer):
    """Making the default the default again shows the reason with 409 and changes nothing."""
    synthetic, _ = datasets
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-default", args=[synthetic.pk]))
    assert response.status_code == 409
    assert "is already the default dataset." in html.unescape(response.content.decode())
    assert Dataset.objects.default() == synthetic


def test_funds_page_shows_appropriation_committed_and_remainder(client, in_production, budget_officer):
    """Each fund: its appropriation, the simulated cost of rules live in production on it, and the remainder."""
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    create_fund(actor=budget_officer, code="DRF-FY2025", name="Relief", appropriation="120000000", fiscal_year=2025)
    create_fund(actor=budget_officer, code="EDU-FY2026", name="Schools", appropriation="50", fiscal_year=2026)
    client.force_login(budget_officer)
    page = client.get(reverse("fund-list")).content.decode()
    row = page.split("<code>DRF-FY2025</code>")[1].split("</tr>")[0]
    assert "$120,000,000.00" in row
    assert f"${live_cost:,.2f}" in row
    assert f"${120_000_000 - live_cost:,.2f}" in row
    other = page.split("<code>EDU-FY2026</code>")[1].split("</tr>")[0]
    assert "$50.00" in other and "$0.00" in other


def test_overdrawn_fund_is_tagged(client, in_production, budget_officer):
    """A fund whose live rules cost more than its appropriation shows a negative remainder, tagged."""
    create_fund(actor=budget_officer, code="DRF-FY2025", name="Relief", appropriation="1", fiscal_year=2025)
    client.force_login(budget_officer)
    page = client.get(reverse("fund-list")).content.decode()
    assert "overdrawn" in page and "−$" in page  # a true minus sign, as every figure prints it


def test_create_fund_from_the_page(client, budget_officer):
    """The create form makes a fund and returns to the list."""
    client.force_login(budget_officer)
    data = {"code": "EDU-FY2026", "name": "Schools", "appropriation": "2,500,000", "fiscal_year": "2026"}
    response = client.post(reverse("fund-list"), data)
    assert response.status_code == 302 and response["Location"] == reverse("fund-list")
    assert Fund.objects.get().appropriation == 2_500_000
    assert "Created the fund EDU-FY2026." in client.get(reverse("fund-list")).content.decode()


def test_refused_fund_is_shown_on_the_form_with_400(client, budget_officer):
    """An invalid fund is refused on the form with the reason and 400, and the typed values are kept."""
    client.force_login(budget_officer)
    data = {"code": "EDU-FY2026", "name": "Schools", "appropriation": "-3", "fiscal_year": "2026"}
    response = client.post(reverse("fund-list"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The fund was not created" in page and "The appropriation cannot be negative (-3)." in page
    assert 'value="EDU-FY2026"' in page
    assert not Fund.objects.exists()


def test_edit_fund_from_the_page(client, fund, budget_officer):
    """The edit page shows the fund's values and saves a change."""
    client.force_login(budget_officer)
    page = client.get(reverse("fund-edit", args=[fund.pk])).content.decode()
    assert 'value="1000.00"' in page and 'value="2025"' in page and "<code>DRF-FY2025</code>" in page
    response = client.post(
        reverse("fund-edit", args=[fund.pk]), {"name": "Relief", "appropriation": "1500", "fiscal_year": "2025"}
    )
    assert response.status_code == 302
    fund.refresh_from_db()
    assert fund.appropriation == 1500


def test_refused_edit_is_shown_with_400(client, fund, budget_officer):
    """An invalid edit is shown on the edit form with 400 and changes nothing."""
    client.force_login(budget_officer)
    response = client.post(
        reverse("fund-edit", args=[fund.pk]), {"name": "Relief", "appropriation": "1000", "fiscal_year": "1999"}
    )
    assert response.status_code == 400
    assert "The fiscal year must be between 2000 and 2100; 1999 is not." in response.content.decode()
    fund.refresh_from_db()
    assert fund.fiscal_year == 2025


def test_navigation_offers_datasets_and_funds_to_the_budget_office_only(client, budget_officer, superuser, counsel):
    """Datasets and Funds are in the navigation of every page for the budget office and superusers only."""
    client.force_login(budget_officer)
    home = client.get(reverse("home")).content.decode()
    assert 'href="/datasets/"' in home and 'href="/funds/"' in home
    client.force_login(superuser)
    assert 'href="/funds/"' in client.get(reverse("fund-list")).content.decode()
    client.force_login(counsel)
    home = client.get(reverse("home")).content.decode()
    assert 'href="/datasets/"' not in home and 'href="/funds/"' not in home
