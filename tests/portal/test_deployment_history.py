"""The rule page's deployment history and audit timeline say who acted: a person, or the system after a sign-off."""

import html
import re

from django.urls import reverse

from deployments.services import promote


def history_rows(page):
    """The deployment history as lists of cell texts, newest first."""
    table = page.split('id="deployments-heading"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in body.split("</tr>")[:-1]
    ]


def test_the_promotion_to_staging_is_the_systems_after_the_last_sign_off(client, on_staging, release_manager):
    """The staging row reads 'System, after budget_officer's sign-off'; the timeline says the same of its event."""
    promote(on_staging.rule, actor=release_manager, note="Payments start Monday.")
    client.force_login(release_manager)
    page = html.unescape(client.get(reverse("rule-detail", args=[on_staging.rule.slug])).content.decode())
    production, staging = history_rows(page)
    assert production[1:6] == ["production", "promote", "v0", "v1", "release_manager"]
    assert production[6] == "Payments start Monday."
    assert staging[1:6] == ["staging", "promote", "v0", "v1", "System, after budget_officer's sign-off"]
    assert staging[6] == "All required reviews received."
    assert "By budget_officer" not in page
    timeline = page.split('id="audit-heading"', 1)[1]
    assert "<td>system, after budget_officer's sign-off</td><td><code>release.promote</code></td>" in timeline
    assert "note: Payments start Monday." in timeline
