def test_wildfire_example_reaches_production(in_production):
    """The example rule passes lint and simulation, gets both sign-offs, and goes live."""
    from deployments.models import Release

    live = {r.environment.name: r.version_id for r in Release.objects.filter(rule=in_production.rule)}
    assert live == {"staging": in_production.pk, "production": in_production.pk}
