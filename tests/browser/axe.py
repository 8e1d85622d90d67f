"""The accessibility check the browser tests run on every page they visit: no serious or critical axe-core issue.

axe-core's script ships inside axe-playwright-python, so nothing is fetched at run time.
"""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

BLOCKING = ("serious", "critical")
_AXE = Axe()
_RUN = f"axe.run(document, {json.dumps({'resultTypes': ['violations']})})"


def violations(page):
    """axe-core's serious and critical violations on the page as it is now."""
    page.wait_for_load_state("load")
    # axe-core is put in a document once (half a megabyte of script) and run there as often as it is checked.
    if not page.evaluate("() => typeof window.axe?.run === 'function'"):
        page.evaluate(_AXE.axe_script)
    response = page.evaluate(_RUN)
    return [v for v in response["violations"] if v.get("impact") in BLOCKING]


def describe(found):
    """Each violation's rule id, impact and help, then the selectors of the elements it was found on."""
    lines = []
    for violation in found:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}  {violation.get('helpUrl', '')}"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(str(part) for part in node.get("target", []))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    at {target}: {summary}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(page):
    """Fail, naming every rule and element, when axe finds a serious or critical issue on the page."""
    found = violations(page)
    if found:
        pytest.fail(f"axe-core found serious or critical issues on {page.url}:\n{describe(found)}", pytrace=False)
