"""Uploading a rule from the portal: pasted or as a file, and what a bad document gets."""

import html

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from rules.models import Rule, RuleVersion
from tests.conftest import document, pipeline_events


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
    body = html.unescape(response.content.decode())
    message = "Not valid JSON: Expecting value at line 3, column 11."
    assert f'<span class="usa-error-message" id="id_text_error">{message}</span>' in body
    # Said once at the field (and once in the summary above, as a link to it), never again apart.
    assert body.lower().count("line 3, column 11") == 2
    assert '"cost": ,' in body  # the pasted text is kept for correcting
    assert not Rule.objects.exists()
    assert not RuleVersion.objects.exists()
    assert pipeline_events().get().outcome == AuditEvent.Outcome.REFUSED


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
    assert (
        '<span class="pdp-excerpt__no">3</span><mark>  "cost": <strong class="pdp-excerpt__at">,</strong></mark>'
        in excerpt
    )
    assert '<span class="pdp-excerpt__no"></span>' + " " * 10 + "^" in excerpt


def test_nul_character_is_refused_with_its_json_path(client, drafter):
    """Text holding a NUL character is refused with the JSON path of that text, and nothing is stored."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": document(title="bad\x00title").decode()})
    assert response.status_code == 400
    message = "Text at $.title contains a NUL character (\\u0000), which is not allowed."
    assert f'<span class="usa-error-message" id="id_text_error">{message}</span>' in html.unescape(
        response.content.decode()
    )
    assert not RuleVersion.objects.exists()


TRAILING_COMMA = '{\n  "rule": "wildfire-aid-2024",\n  "cost": 5,\n}\n'


def _field_error(body, field):
    return html.unescape(body).split(f'id="id_{field}_error">')[1].split("</span>")[0]


def test_a_trailing_comma_is_shown_at_the_comma(client, drafter):
    """The parser notices a trailing comma at the "}" after it; the page points at the comma itself."""
    client.force_login(drafter)
    response = client.post(reverse("rule-upload"), {"text": TRAILING_COMMA})
    assert response.status_code == 400
    body = response.content.decode()
    assert _field_error(body, "text").startswith("Not valid JSON: a trailing comma at line 3, column 12")
    excerpt = html.unescape(body.split('<pre class="pdp-excerpt"')[1].split("</pre>")[0])
    assert (
        '<span class="pdp-excerpt__no">3</span><mark>  "cost": 5<strong class="pdp-excerpt__at">,</strong></mark>'
        in excerpt
    )
    assert '<span class="pdp-excerpt__no"></span>' + " " * 11 + "^" in excerpt
    assert not RuleVersion.objects.exists()


def test_the_refusal_is_marked_on_its_field_and_summarised_with_a_link(client, drafter):
    """The box in error carries aria-invalid and is linked from the summary at the top; the file field is not."""
    client.force_login(drafter)
    body = html.unescape(client.post(reverse("rule-upload"), {"text": TRAILING_COMMA}).content.decode())
    summary = body.split("data-error-summary>")[1].split("</div>")[0]
    assert '<a class="usa-link" href="#id_text">Or paste the JSON: Not valid JSON: a trailing comma' in summary
    textarea = body.split("<textarea")[1].split(">")[0]
    assert 'aria-invalid="true"' in textarea and 'aria-describedby="id_text_helptext id_text_error"' in textarea
    assert "aria-invalid" not in body.split('<input type="file"')[1].split(">")[0]


def test_a_refused_file_is_not_dropped_its_text_is_in_the_box(client, drafter):
    """A chosen file that is refused comes back as the box's text, with the refusal there and the file named."""
    client.force_login(drafter)
    upload = SimpleUploadedFile("wildfire.json", TRAILING_COMMA.encode(), content_type="application/json")
    response = client.post(reverse("rule-upload"), {"file": upload, "text": ""})
    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert body.split("<textarea")[1].split(">", 1)[1].split("</textarea>")[0] == "\n" + TRAILING_COMMA
    assert "The text of wildfire.json, as you chose it: correct it here" in body
    assert _field_error(body, "text").startswith("Not valid JSON: a trailing comma at line 3, column 12")
    assert 'id="id_text_excerpt"' in body
    assert not RuleVersion.objects.exists()


def test_choosing_the_file_again_replaces_the_text_the_page_put_in_the_box(client, drafter):
    """After a refused file, choosing a corrected file uploads it: the box's unchanged text does not count as pasted."""
    client.force_login(drafter)
    bad = SimpleUploadedFile("wildfire.json", TRAILING_COMMA.encode(), content_type="application/json")
    page = html.unescape(client.post(reverse("rule-upload"), {"file": bad, "text": ""}).content.decode())
    kept = page.split('name="kept" value="')[1].split('"')[0]
    good = SimpleUploadedFile("wildfire.json", document(), content_type="application/json")
    # As a browser sends the box back: its line ends as CRLF.
    response = client.post(
        reverse("rule-upload"), {"file": good, "text": TRAILING_COMMA.replace("\n", "\r\n"), "kept": kept}
    )
    assert response.status_code == 302
    assert RuleVersion.objects.get().rule.slug == "wildfire-aid-2024"


def test_a_file_and_edited_text_are_still_both(client, drafter):
    """A file chosen while the box holds text someone typed is refused: which one was meant is not guessed."""
    client.force_login(drafter)
    upload = SimpleUploadedFile("wildfire.json", document(), content_type="application/json")
    response = client.post(reverse("rule-upload"), {"file": upload, "text": document().decode()})
    assert response.status_code == 400
    assert _field_error(response.content.decode(), "text").startswith("Choose a file or paste the JSON, not both")
    assert not RuleVersion.objects.exists()


def test_a_refused_file_that_is_not_text_stays_the_file_fields_problem(client, drafter):
    """A file that is not UTF-8 cannot go into the box: the refusal is said at the file field."""
    client.force_login(drafter)
    upload = SimpleUploadedFile("rule.json", b'{"rule": "caf\xe9"}', content_type="application/json")
    response = client.post(reverse("rule-upload"), {"file": upload})
    assert response.status_code == 400
    assert _field_error(response.content.decode(), "file").startswith("The document is not valid UTF-8")
