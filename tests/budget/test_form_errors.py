"""The fund and dataset forms name every problem at once: a summary linking to each field, the message at the field."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budget.models import Dataset, Fund
from budget.services import create_fund, update_fund, upload_dataset
from engine.errors import InvalidDataset, InvalidInput
from tests.conftest import pipeline_events

from .conftest import stored_files

BAD_CODE = (
    "The fund code must be upper-case letters and digits, parts joined by '-' or '_', starting with a letter, "
    "at most 50 characters (like DRF-FY2025); 'bad code' is not."
)
BAD_YEAR = "The fiscal year must be a year like 2025; 'FY25' is not."
NO_NAME = "Give the dataset a name, such as “Census sample 2024”."


def summary_links(page):
    """The error summary's links: (target, text)."""
    summary = page.split("data-error-summary>")[1].split("</div>")[0]
    return re.findall(r'<a class="usa-link" href="#([^"]+)">([^<]+)</a>', summary)


def control(page, name):
    """The control of the field `name` as the page renders it."""
    return re.search(rf'<(?:input|textarea|select)[^>]*name="{name}"[^>]*>', page).group(0)


def test_create_fund_names_every_bad_field_in_one_refusal(budget_officer):
    """A code and a fiscal year both wrong: one refusal, both messages, each under its field in details."""
    with pytest.raises(InvalidInput) as refused:
        create_fund(actor=budget_officer, code="bad code", name="", appropriation="5", fiscal_year="FY25")
    assert refused.value.details == {"fields": {"code": BAD_CODE, "fiscal_year": BAD_YEAR}}
    assert refused.value.message == f"{BAD_CODE} {BAD_YEAR}"
    assert not Fund.objects.exists()
    event = pipeline_events().get()
    assert (event.action, event.outcome, event.data["reason"]) == ("fund.create", "refused", refused.value.message)


def test_update_fund_names_every_bad_field(budget_officer):
    """Changing a fund to a negative amount and a year out of range: both said at once, nothing changed."""
    fund = create_fund(actor=budget_officer, code="DRF-FY2025", name="", appropriation="5", fiscal_year=2025)
    with pytest.raises(InvalidInput) as refused:
        update_fund(fund, actor=budget_officer, appropriation="-1", fiscal_year="1999")
    assert set(refused.value.details["fields"]) == {"appropriation", "fiscal_year"}
    fund.refresh_from_db()
    assert (fund.appropriation, fund.fiscal_year) == (5, 2025)


def test_fund_form_shows_both_problems_at_once_at_their_fields(client, budget_officer):
    """The page lists the code's and the year's problems in a summary linking to each, and marks both fields."""
    client.force_login(budget_officer)
    data = {"code": "bad code", "name": "", "appropriation": "5", "fiscal_year": "FY25"}
    response = client.post(reverse("fund-list"), data)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "<title>Error: Funds" in page
    assert summary_links(page) == [("id_code", f"Code: {BAD_CODE}"), ("id_fiscal_year", f"Fiscal year: {BAD_YEAR}")]
    for name, message in (("code", BAD_CODE), ("fiscal_year", BAD_YEAR)):
        assert f'<span class="usa-error-message" id="id_{name}_error">{message}</span>' in page
        assert 'aria-invalid="true"' in control(page, name)
        assert f'aria-describedby="id_{name}_helptext id_{name}_error"' in control(page, name)
    assert "aria-invalid" not in control(page, "appropriation")
    assert 'value="bad code"' in control(page, "code")  # what was typed stays, to be corrected
    assert not Fund.objects.exists()


def test_fund_edit_form_shows_every_problem(client, budget_officer):
    """The edit page names the appropriation's and the year's problems together."""
    fund = create_fund(actor=budget_officer, code="DRF-FY2025", name="", appropriation="5", fiscal_year=2025)
    client.force_login(budget_officer)
    data = {"name": "", "appropriation": "lots", "fiscal_year": "2101"}
    response = client.post(reverse("fund-edit", args=[fund.pk]), data)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert [target for target, _ in summary_links(page)] == ["id_appropriation", "id_fiscal_year"]
    assert "The fund was not changed" in page


def test_a_taken_code_is_shown_at_the_code(client, budget_officer):
    """A refusal about one field (the code is taken) is said at that field."""
    create_fund(actor=budget_officer, code="DRF-FY2025", name="", appropriation="5", fiscal_year=2025)
    client.force_login(budget_officer)
    data = {"code": "DRF-FY2025", "name": "", "appropriation": "5", "fiscal_year": "2025"}
    page = html.unescape(client.post(reverse("fund-list"), data).content.decode())
    assert summary_links(page) == [("id_code", "Code: A fund with the code 'DRF-FY2025' already exists.")]


def test_forms_leave_checking_to_the_server(client, budget_officer):
    """No control is `required`: the browser would stop at the first empty field, the server names them all."""
    client.force_login(budget_officer)
    for url in (reverse("fund-list"), reverse("dataset-list")):
        page = client.get(url).content.decode()
        assert " required" not in page.split('<form class="usa-form usa-form--large"')[1].split("</form>")[0]


BAD_ROWS = b"id,age,weight\n1,34,2\n2,x,-1\n2,40,\n4,41,many\n"


def test_dataset_upload_lists_every_problem_with_its_line_and_column(client, budget_officer, data_dir):
    """A file with five problems: each listed under the file field with its line and column; nothing stored."""
    client.force_login(budget_officer)
    upload = SimpleUploadedFile("people.csv", BAD_ROWS, content_type="text/csv")
    response = client.post(reverse("dataset-list"), {"name": "Census", "file": upload})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert summary_links(page)[0][0] == "id_file"
    assert 'aria-invalid="true"' in control(page, "file")
    table = page.split('id="id_file_problems"')[1].split("</table>")[0]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(?:<code>([^<]*)</code>)?</td><td>([^<]+)</td></tr>', table)
    assert [(where, column) for where, column, _ in rows] == [
        ("Line 3", "age"), ("Line 3", "weight"), ("Line 4", "id"), ("Line 4", "weight"), ("Line 5", "weight"),
    ]  # fmt: skip
    assert "The 5 problems, in the order of the file" in table
    assert not Dataset.objects.exists() and stored_files(data_dir) == []


def test_dataset_upload_says_there_are_more_than_twenty(client, budget_officer):
    """45 bad rows: the first 20 are listed, and the page says how many there are."""
    client.force_login(budget_officer)
    content = b"id,age\n1,34\n" + b"".join(b"%d,old\n" % i for i in range(2, 47))
    upload = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    page = html.unescape(client.post(reverse("dataset-list"), {"name": "Census", "file": upload}).content.decode())
    table = page.split('id="id_file_problems"')[1].split("</table>")[0]
    assert "The first 20 of 45 problems" in table
    assert table.count('<th scope="row">') == 20


def test_dataset_name_and_file_problems_come_together(budget_officer, data_dir):
    """No name and a bad file: one refusal naming both, the file's rows kept in its details."""
    with pytest.raises(InvalidDataset) as refused:
        upload_dataset(BAD_ROWS, actor=budget_officer, name=" ", filename="people.csv")
    fields = refused.value.details["fields"]
    assert set(fields) == {"name", "file"} and fields["name"] == NO_NAME
    assert refused.value.details["problem_count"] == 5
    assert refused.value.message.startswith(NO_NAME + " The file has 5 problems.")
    assert pipeline_events().get().outcome == "refused"


def test_dataset_form_without_file_or_name_says_both(client, budget_officer):
    """Neither a file nor a name: both are asked for at once."""
    client.force_login(budget_officer)
    response = client.post(reverse("dataset-list"), {"name": ""})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert summary_links(page) == [
        ("id_file", "Population file (CSV or Parquet): Choose a CSV or Parquet file to upload."),
        ("id_name", f"Name: {NO_NAME}"),
    ]
