"""Print the conformance and property-test counts at the end of a run (also under -q)."""


def pytest_terminal_summary(terminalreporter):
    from .test_conformance import SUMMARY

    try:
        from .test_compile_properties import PROPERTY_STATS
    except ImportError:  # pragma: no cover
        PROPERTY_STATS = {}
    if not SUMMARY and not PROPERTY_STATS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("JSON Logic conformance (in-subset cases)")
    write(
        f"{'suite':36} {'cases':>5} {'subset':>6} {'scalar':>6} {'dev':>3} {'flat':>4} {'compiled':>8} {'refused':>7} {'lifted':>6} {'refused':>7}"
    )
    totals = [0] * 9
    for suite in sorted(SUMMARY):
        s = SUMMARY[suite]
        row = [
            s.get("cases", 0),
            s.get("in_subset", 0),
            s.get("scalar", 0),
            s.get("deviations", 0),
            s.get("flat", 0),
            s.get("compiled", 0),
            len(s.get("refused", [])),
            s.get("lifted", 0),
            len(s.get("lifted_refused", [])),
        ]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        write(f"{suite:36} " + " ".join(f"{v:>{w}}" for v, w in zip(row, (5, 6, 6, 3, 4, 8, 7, 6, 7), strict=True)))
    write(f"{'total':36} " + " ".join(f"{v:>{w}}" for v, w in zip(totals, (5, 6, 6, 3, 4, 8, 7, 6, 7), strict=True)))
    for suite in sorted(SUMMARY):
        for rule, reason in SUMMARY[suite].get("refused", []):
            write(f"refused ({suite}): {rule} -- {reason}")
        for rule, reason in SUMMARY[suite].get("lifted_refused", []):
            write(f"refused, lifted ({suite}): {rule} -- {reason}")
        for rule, record in SUMMARY[suite].get("lifted_deferred", []):
            write(f"deferred to the scalar path, lifted ({suite}): {rule} on {record}")
    if PROPERTY_STATS:
        terminalreporter.section("compiled vs scalar, random rules")
        write(", ".join(f"{k}={v}" for k, v in PROPERTY_STATS.items()))
