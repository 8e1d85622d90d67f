from typing import NamedTuple

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery


class Environment(models.Model):
    """Where a rule can be live: `staging` (test accounts) or `production` (everyone)."""

    STAGING = "staging"
    PRODUCTION = "production"

    name = models.SlugField(max_length=30, unique=True)
    label = models.CharField(max_length=60)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name


class ReleaseQuerySet(models.QuerySet):
    def awaiting_production(self):
        """Staging pointers at a version production would take and does not serve yet: what may be promoted.

        Production takes only an approved version, so a superseded one that staging was rolled
        back to waits for nothing. The home queue, the board and the rule page all ask this.
        """
        from rules.models import VersionStatus

        production = Release.objects.filter(rule=OuterRef("rule_id"), environment__name=Environment.PRODUCTION)
        return (
            self.filter(environment__name=Environment.STAGING, version__status=VersionStatus.APPROVED)
            .annotate(production_version=Subquery(production.values("version_id")[:1]))
            .filter(Q(production_version__isnull=True) | ~Q(version_id=F("production_version")))
        )


class Release(models.Model):
    """The live pointer of one rule in one environment; no version means withdrawn (v0)."""

    rule = models.ForeignKey("rules.Rule", on_delete=models.PROTECT, related_name="releases")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="releases")
    version = models.ForeignKey(
        "rules.RuleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="releases"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["rule", "environment__order"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "environment"], name="one_release_per_rule_and_environment"),
        ]
        permissions = [
            ("promote_release", "Can promote a rule to production"),
            ("rollback_release", "Can roll a rule back"),
        ]

    def __str__(self):
        return f"{self.rule.display_name} @ {self.environment.name}: {self.version_label}"

    @property
    def version_label(self):
        return f"v{self.version.number}" if self.version_id else "v0"

    @property
    def audit_rule_slug(self):
        return self.rule.slug


class DeploymentQuerySet(models.QuerySet):
    def forward(self):
        """Moves that put a version live (a first promotion or a redeploy), not rollbacks: where "previous" is read."""
        return self.filter(kind__in=Deployment.FORWARD)

    def ever_served(self, version, environment):
        """The moves that made `version` live in `environment`: the history a redeploy or rollback needs."""
        return self.filter(environment=environment, to_version=version)


class Deployment(models.Model):
    """One move of a live pointer. Append-only: history only grows."""

    class Kind(models.TextChoices):
        PROMOTE = "promote", "promote"
        # A version live in this environment before, put live there again (Argo CD's redeploy).
        REDEPLOY = "redeploy", "redeploy"
        ROLLBACK = "rollback", "rollback"

    # The moves that put a version live; "previous" is where the last of them to a version came from.
    FORWARD = (Kind.PROMOTE, Kind.REDEPLOY)

    rule = models.ForeignKey("rules.Rule", on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="deployments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_version = models.ForeignKey(
        "rules.RuleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_version = models.ForeignKey(
        "rules.RuleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # None: the system moved the pointer (the promotion to staging after the last sign-off), for `review`.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review = models.ForeignKey(
        "reviews.Review",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The sign-off on whose behalf the system made this move.",
    )
    schedule = models.OneToOneField(
        "deployments.ScheduledPromotion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deployment",
        help_text="The scheduled promotion the system carried out with this move.",
    )
    reason = models.TextField(blank=True, help_text="Why a rollback was made (required for one).")
    note = models.TextField(blank=True, help_text="The release note given with a promotion or redeploy.")
    duration_s = models.FloatField(help_text="Seconds from the request reaching the service to the commit.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        triggers = [
            pgtrigger.Protect(name="deployment_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.kind} {self.rule.display_name} @ {self.environment.name}: {self.from_label} → {self.to_label}"

    @property
    def from_label(self):
        return f"v{self.from_version.number}" if self.from_version_id else "v0"

    @property
    def to_label(self):
        return f"v{self.to_version.number}" if self.to_version_id else "v0"

    @property
    def audit_rule_slug(self):
        return self.rule.slug

    @property
    def actor_label(self):
        """Who moved the pointer, as the history says it: a person, or the system after someone's sign-off."""
        if self.actor_id is not None:
            return self.actor.username
        if self.review_id is not None:
            return f"System, after {self.review.reviewer.username}'s sign-off"
        if self.schedule_id is not None:
            return f"System, scheduled by {self.schedule.created_by.username}"
        return "System"


class ScheduledPromotionQuerySet(models.QuerySet):
    def pending(self):
        """Promotions still waiting for their time, with what the rule page, the board and the API show."""
        return (
            self.filter(state=ScheduledPromotion.State.SCHEDULED)
            .select_related("rule", "version", "environment", "created_by")
            .order_by("at", "id")
        )

    def due(self, now):
        return self.filter(state=ScheduledPromotion.State.SCHEDULED, at__lte=now)


class ScheduledPromotion(models.Model):
    """A promotion to be carried out at `at` by the system, for `created_by`, through the promote service.

    At most one waits per (rule, environment). Any move of that pointer before the time cancels it
    (deployments.services._move); at the time the promote service checks everything again.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "scheduled"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled"
        FAILED = "failed", "failed"

    rule = models.ForeignKey("rules.Rule", on_delete=models.PROTECT, related_name="scheduled_promotions")
    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    # What the environment served when the promotion was scheduled: it must still serve it at the time.
    from_version = models.ForeignKey(
        "rules.RuleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(help_text="When the system carries out the promotion.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, help_text="The release note the promotion will carry.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    outcome = models.TextField(blank=True, help_text="What happened at the time, or why it was cancelled.")
    carried_out_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScheduledPromotionQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "environment"],
                condition=Q(state="scheduled"),
                name="one_scheduled_promotion_per_rule_and_environment",
            ),
        ]
        indexes = [models.Index(fields=["state", "at"], name="scheduled_promotion_due")]

    def __str__(self):
        return f"{self.rule.display_name} {self.version.label} → {self.environment.name} at {self.at.isoformat()}"

    @property
    def audit_rule_slug(self):
        return self.rule.slug


class Sync(NamedTuple):
    """How staging and production stand to each other: a key for styling and one line for people."""

    key: str
    text: str


def _served(number: int) -> str:
    return f"v{number}" if number else "v0 (nothing)"


def release_sync(staging: int, production: int, *, staging_was_in_production: bool) -> Sync | None:
    """Staging and production, by the version numbers they serve (0: nothing): in sync, or which one is behind.

    `staging_was_in_production`: production served staging's version before (it was rolled back from
    it), so production is behind rather than staging ahead. None when neither serves anything.
    Read from `Rule.objects.with_release_sync()` by the board and the rule page.
    """
    if staging == production:
        return Sync("in-sync", f"In sync: staging and production both serve v{staging}.") if staging else None
    if staging > production:
        if staging_was_in_production:
            return Sync(
                "production-behind",
                f"Production serves an older version than staging: {_served(production)}, where staging serves "
                f"v{staging}, which production served before.",
            )
        return Sync(
            "staging-ahead",
            f"Staging is ahead of production: v{staging} waits there; production serves {_served(production)}.",
        )
    return Sync(
        "staging-behind",
        f"Staging serves an older version than production: {_served(staging)}, where production serves v{production}.",
    )


class TestAccount(models.Model):
    """An account id that is served the staging version of each rule."""

    __test__ = False  # not a pytest test class, despite its name

    account_id = models.CharField(max_length=100, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id"]

    def __str__(self):
        return self.account_id
