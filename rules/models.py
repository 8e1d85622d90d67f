import re

from django.conf import settings
from django.db import models
from django.db.models import CharField, Exists, Max, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone


def signoff_codename(role):
    """The per-object permission on a RuleVersion that gives `role`'s sign-off (see RuleVersion.Meta.permissions)."""
    return f"signoff_{role}"


def display_name(slug):
    """`wildfire-aid-2024` → `Wildfire-Aid-2024`."""
    return re.sub(r"(^|[-_])([a-z])", lambda m: m.group(1) + m.group(2).upper(), slug)


class RuleQuerySet(models.QuerySet):
    def with_listing(self):
        """What the rule list shows: the latest version number and the live pointers."""
        from deployments.models import Release

        return self.annotate(latest_number=Max("versions__number")).prefetch_related(
            Prefetch(
                "releases",
                # The version's rule too: a refusal naming a version ("… v2 is superseded") reads it.
                queryset=Release.objects.select_related("environment", "version__rule").defer("version__document"),
            )
        )

    def with_release_sync(self):
        """What staging and production serve, as numbers (0: nothing), and how production's last move went.

        `staging_number`, `production_number`, `staging_was_in_production` (production served staging's
        version before), and `last_production_kind` / `last_production_from_id` (where production's last
        move came from: after a rollback, the version to deploy again). Subqueries, no per-row query;
        `Rule.release_sync()` reads them.
        """
        from deployments.models import Deployment, Environment, Release

        def pointer(environment):
            return Release.objects.filter(rule=OuterRef("pk"), environment__name=environment)

        production_moves = Deployment.objects.filter(
            rule=OuterRef("pk"), environment__name=Environment.PRODUCTION
        ).order_by("-id")
        # Read from inside the moves' subquery, so the rule is two levels out.
        staging_version = Release.objects.filter(
            rule=OuterRef(OuterRef("pk")), environment__name=Environment.STAGING
        ).values("version_id")[:1]
        return self.annotate(
            staging_number=Coalesce(Subquery(pointer(Environment.STAGING).values("version__number")[:1]), 0),
            production_number=Coalesce(Subquery(pointer(Environment.PRODUCTION).values("version__number")[:1]), 0),
            staging_was_in_production=Exists(production_moves.filter(to_version_id=Subquery(staging_version))),
            last_production_kind=Subquery(production_moves.values("kind")[:1]),
            last_production_from_id=Subquery(production_moves.values("from_version_id")[:1]),
        )

    def with_latest_status(self):
        """`latest_status` and `latest_at` of each rule's newest version, as subqueries (no per-row query)."""
        latest = RuleVersion.objects.filter(rule=models.OuterRef("pk")).order_by("-number")
        return self.annotate(
            latest_status=models.Subquery(latest.values("status")[:1]),
            latest_at=models.Subquery(latest.values("created_at")[:1]),
        )


class Rule(models.Model):
    """A rule's stable identity; its content lives in its versions."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300, blank=True)
    program = models.CharField(max_length=100, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return display_name(self.slug)

    def release_sync(self):
        """In sync, or which of staging and production is behind (`with_release_sync()` annotated the numbers)."""
        from deployments.models import release_sync

        return release_sync(
            self.staging_number, self.production_number, staging_was_in_production=self.staging_was_in_production
        )

    @property
    def rolled_back_from_id(self):
        """The version production served before its last move, when that move was a rollback: what to deploy again."""
        from deployments.models import Deployment

        return self.last_production_from_id if self.last_production_kind == Deployment.Kind.ROLLBACK else None

    @property
    def audit_rule_slug(self):
        return self.slug


class VersionStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    LINTING = "linting", "linting"
    LINT_FAILED = "lint_failed", "lint failed"
    SIMULATING = "simulating", "simulating"
    SIMULATION_FAILED = "simulation_failed", "simulation failed"
    IN_REVIEW = "in_review", "in review"
    REJECTED = "rejected", "rejected"
    APPROVED = "approved", "approved"
    SUPERSEDED = "superseded", "superseded"


# A version still moving through its checks.
IN_FLIGHT = frozenset({VersionStatus.QUEUED, VersionStatus.LINTING, VersionStatus.SIMULATING})

TRANSITIONS = {
    VersionStatus.QUEUED: {VersionStatus.LINTING, VersionStatus.SUPERSEDED},
    VersionStatus.LINTING: {VersionStatus.LINT_FAILED, VersionStatus.SIMULATING, VersionStatus.SUPERSEDED},
    VersionStatus.SIMULATING: {
        VersionStatus.SIMULATION_FAILED,
        VersionStatus.IN_REVIEW,
        VersionStatus.SUPERSEDED,
    },
    VersionStatus.IN_REVIEW: {VersionStatus.REJECTED, VersionStatus.APPROVED, VersionStatus.SUPERSEDED},
    VersionStatus.APPROVED: {VersionStatus.SUPERSEDED},
    VersionStatus.LINT_FAILED: set(),
    VersionStatus.SIMULATION_FAILED: set(),
    VersionStatus.REJECTED: set(),
    VersionStatus.SUPERSEDED: set(),
}


class RuleVersionQuerySet(models.QuerySet):
    def supersedable(self):
        """Versions a newer push replaces: still moving through checks, in review, or approved."""
        return self.filter(
            status__in=[
                VersionStatus.QUEUED,
                VersionStatus.LINTING,
                VersionStatus.SIMULATING,
                VersionStatus.IN_REVIEW,
                VersionStatus.APPROVED,
            ]
        )

    def with_live_places(self):
        """`live_in_production` and `live_on_staging` on each version, as subqueries (no per-row query)."""
        from deployments.models import Environment, Release

        live = Release.objects.filter(version=OuterRef("pk"))
        return self.annotate(
            live_in_production=Exists(live.filter(environment__name=Environment.PRODUCTION)),
            live_on_staging=Exists(live.filter(environment__name=Environment.STAGING)),
        )

    def signed_off(self):
        """Versions every required role approved on their exact content hash: the only ones that may be live.

        The promote service asks it under its lock; the rule page and the board read it to offer a button.
        """
        from reviews.models import Review

        approvals = Review.objects.filter(
            version=OuterRef("pk"), decision=Review.Decision.APPROVE, content_hash=OuterRef("content_hash")
        )
        signed = self
        for role in settings.PDP_REVIEW_ROLES:
            signed = signed.filter(Exists(approvals.filter(role=role)))
        return signed

    def with_checks(self):
        from checks.models import CheckRun

        return self.select_related("rule", "uploaded_by").prefetch_related(
            Prefetch("checks", queryset=CheckRun.objects.order_by("kind")),
        )

    def signed_off_by(self, user, role):
        """The versions on which this person holds `role`'s sign-off permission (no superuser shortcut).

        Held through one of their groups, or given to them by name: a named sign-off counts only
        while they are still in the role's group, so someone who left Legal keeps no Legal sign-off
        from an earlier assignment. The permissions themselves are granted and revoked in
        pdp_portal/permissions.py.
        """
        from guardian.models import GroupObjectPermission, UserObjectPermission

        group_name = settings.PDP_REVIEW_ROLES.get(role)
        if group_name is None or not user.is_authenticated or not user.is_active:
            return self.none()
        common = {
            "content_type__app_label": self.model._meta.app_label,
            "content_type__model": self.model._meta.model_name,
            "object_pk": Cast(OuterRef("pk"), output_field=CharField()),
            "permission__codename": signoff_codename(role),
        }
        held = Exists(GroupObjectPermission.objects.filter(group__in=user.groups.all(), **common))
        if user.groups.filter(name=group_name).exists():
            held = held | Exists(UserObjectPermission.objects.filter(user=user, **common))
        return self.filter(held)

    def awaiting_review_by(self, user, role):
        """The versions this person may sign as `role` now: what their review queue shows and the service allows.

        In review, not their own, `role`'s sign-off still open, no sign-off of theirs on it yet
        (the two sign-offs come from two people), and `role`'s sign-off theirs to give.
        """
        from reviews.models import Review

        approvals = Review.objects.filter(version=OuterRef("pk"), decision=Review.Decision.APPROVE)
        return (
            self.filter(status=VersionStatus.IN_REVIEW)
            .exclude(uploaded_by=user)
            .exclude(Exists(approvals.filter(role=role)))
            .exclude(Exists(approvals.filter(reviewer=user)))
            .signed_off_by(user, role)
        )


class RuleVersion(models.Model):
    """One immutable version of a rule: the canonical document and its SHA-256."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=VersionStatus.choices, default=VersionStatus.QUEUED)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    objects = RuleVersionQuerySet.as_manager()

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="version_number_unique_per_rule"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
        ]
        permissions = [
            ("signoff_legal", "Can give the legal sign-off on this version"),
            ("signoff_budget", "Can give the budget sign-off on this version"),
        ]

    def __str__(self):
        return f"{self.rule.display_name} v{self.number}"

    @property
    def audit_rule_slug(self):
        return self.rule.slug

    @property
    def label(self):
        return f"v{self.number}"

    def live_places(self):
        """Where this version is live, production first: ["production", "staging"], or [] when nowhere.

        Read from `with_live_places()` when the queryset annotated it, else from the release pointers.
        """
        from deployments.models import Environment

        if not hasattr(self, "live_in_production"):
            # Read once, as the annotation would have: status_label and status_key both ask.
            serving = set(self.releases.values_list("environment__name", flat=True))
            self.live_in_production = Environment.PRODUCTION in serving
            self.live_on_staging = Environment.STAGING in serving
        live = {Environment.PRODUCTION: self.live_in_production, Environment.STAGING: self.live_on_staging}
        return [name for name, is_live in live.items() if is_live]

    @property
    def status_label(self):
        """What the version is, as people read it: where it is live first, else its pipeline status.

        A version live somewhere is never shown as "superseded": a newer push replaced it as the
        version under work, but it still serves. Only a version live nowhere shows its status.
        """
        places = self.live_places()
        if places == ["production", "staging"]:
            return "live in production and on staging"
        if places == ["production"]:
            return "live in production"
        if places == ["staging"]:
            return "live on staging"
        return self.get_status_display()

    @property
    def status_key(self):
        """The key of `status_label` for styling: "live" or the status."""
        return "live" if self.live_places() else self.status

    def can_transition_to(self, status):
        return status in TRANSITIONS[VersionStatus(self.status)]

    def move_to(self, status):
        """Save the new status, if TRANSITIONS allows the move (InvalidTransition otherwise)."""
        from pdp_portal.exceptions import InvalidTransition

        if not self.can_transition_to(status):
            raise InvalidTransition(f"{self} cannot move from {self.status} to {status}.")
        self.status = status
        self.status_changed_at = timezone.now()
        self.save(update_fields=["status", "status_changed_at"])

    def parsed(self):
        from engine.document import parse_canonical

        return parse_canonical(self.document)

    def check_of(self, kind):
        """The check of this kind, from the prefetched list when there is one."""
        for check in self.checks.all():
            if check.kind == kind:
                return check
        return None
