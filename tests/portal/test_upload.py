"""Uploading a rule from the portal: pasted or as a file, and what a bad document gets."""

import html

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from rules.models import Rule, RuleVersion
from tests.conftest import document


def test_pasted_document_creates_v1_and_redirects_to_the_rule(client, drafter):
    """A valid pasted document becomes v1 of its rule and the drafter lands on the rule page."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": document().decode()})
    version = RuleVersion.objects.get()
    assert (version.rule.slug, version.number, version.uploaded_by) == ("wildfire-aid-2024", 1, drafter)
    assert response.status_code == 302
    assert response["Location"] == reverse("rule-detail", args=["wildfire-aid-2024"]) + "?v=1"
    page = client.get(response["Location"])
    assert "Uploaded Wildfire-Aid-2024 (v1)" in page.content.decode()


def test_uploaded_file_creates_v1(client, drafter):
    """A valid .json file upload is stored byte for byte as the next version."""
    client.force_login(drafter)
    upload = SimpleUploadedFile("wildfire.json", document(), content_type="application/json")
    response = client.post(reverse("rule-upload"), {"file": upload})
    assert response.status_code == 302
    assert RuleVersion.objects.get().rule.slug == "wildfire-aid-2024"


def test_invalid_json_shows_line_and_column_with_400_and_stores_nothing(client, drafter):
    """Broken JSON is refused on the form with its line and column, status 400, and no rule or version."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": '{\n  "rule": "broken",\n  "cost": ,\n}'})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Not valid JSON" in body
    assert "Line 3, column 11." in body
    assert '"cost": ,' in html.unescape(body)  # the pasted text is kept for correcting
    assert not Rule.objects.exists()
    assert not RuleVersion.objects.exists()
    assert AuditEvent.objects.get().outcome == AuditEvent.Outcome.REFUSED


def test_schema_error_is_shown_on_the_form(client, drafter):
    """A document that is JSON but not a rule document is refused with the service's message."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": '{"title": "no rule name"}'})
    assert response.status_code == 400
    assert "must name its rule" in response.content.decode()
    assert not RuleVersion.objects.exists()


def test_empty_form_is_refused(client, drafter):
    """Neither a file nor text: the form says what is missing, with 400."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": "   "})
    assert response.status_code == 400
    assert "Choose a JSON file or paste the rule document." in response.content.decode()


def test_non_drafter_gets_403_and_nothing_is_stored(client, counsel):
    """Someone without the drafter role gets 403 on the form and on a crafted POST, and nothing is stored."""
    client.force_login(counsel)
    assert client.get(reverse("rule-upload")).status_code == 403
    response = client.post(reverse("rule-upload"), {"text": document().decode()})
    assert response.status_code == 403
    assert "You may not upload rules" in response.content.decode()
    assert not RuleVersion.objects.exists()


def test_upload_link_shows_only_for_drafters(client, drafter, counsel):
    """The navigation offers Upload to drafters only."""
    client.force_login(drafter)
    assert 'href="/rules/upload/"' in client.get(reverse("home")).content.decode()
    client.force_login(counsel)
    assert 'href="/rules/upload/"' not in client.get(reverse("home")).content.decode()


def test_parse_error_shows_the_lines_before_it_with_a_caret_under_the_column(client, drafter):
    """The error quotes the numbered lines up to the broken one, marks it, and puts a caret under the column."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": '{\n  "rule": "broken",\n  "cost": ,\n}'})
    excerpt = html.unescape(response.content.decode().split('<pre class="pdp-excerpt"')[1].split("</pre>")[0])
    assert '<span class="pdp-excerpt__no">1</span>{' in excerpt
    assert '<span class="pdp-excerpt__no">3</span><mark>  "cost": ,</mark>' in excerpt
    assert '<span class="pdp-excerpt__no"></span>' + " " * 10 + "^" in excerpt


def test_nul_character_is_refused_with_its_json_path(client, drafter):
    """Text holding a NUL character is refused with the JSON path of that text, and nothing is stored."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": document(title="bad\x00title").decode()})
    assert response.status_code == 400
    assert "At JSON path <code>$.title</code>." in response.content.decode()
    assert not RuleVersion.objects.exists()
