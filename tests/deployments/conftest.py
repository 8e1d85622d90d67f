import pytest
from django.conf import settings

from tests.conftest import make_user


@pytest.fixture
def drafting_release_manager(db):
    """A person who both drafts rules and releases them."""
    return make_user("drafting_rm", settings.PDP_DRAFTER_GROUP, settings.PDP_RELEASE_GROUP)


@pytest.fixture
def with_v2_live(in_production, push, drafter, counsel, budget_officer, release_manager):
    """v1 went live in production, then v2 replaced it there: returns (v1, v2)."""
    from tests.conftest import document
    from tests.deployments.support import release_to_production

    v2 = push(document(title="Wildfire Relief Payment 2024 (amended)"), actor=drafter)
    release_to_production(v2, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    in_production.refresh_from_db()
    v2.refresh_from_db()
    return in_production, v2
