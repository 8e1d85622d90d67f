from django.conf import settings
from django.db import models
from django.db.models import Q


class Review(models.Model):
    """One sign-off or rejection, bound to the content hash and simulation it was given on."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "approved"
        REJECT = "reject", "rejected"

    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)
    simulation_run = models.ForeignKey(
        "checks.CheckRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "role"],
                condition=Q(decision="approve"),
                name="one_approval_per_role_per_version",
            ),
            models.UniqueConstraint(
                fields=["version", "reviewer"],
                condition=Q(decision="approve"),
                name="one_approval_per_person_per_version",
            ),
        ]

    def __str__(self):
        return f"{self.role} {self.get_decision_display()} {self.version} by {self.reviewer}"

    @property
    def audit_rule_slug(self):
        return self.version.rule.slug


class ReviewAssignment(models.Model):
    """A named person an administrator asked to give one role's sign-off on a version.

    The row is the record of who was asked; the sign-off permission itself is granted through
    `pdp_portal.permissions` and revoked with every other one when the review ends.
    """

    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "role", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "reviewer", "role"], name="one_assignment_per_person_role"),
        ]

    def __str__(self):
        return f"{self.reviewer} as {self.role} reviewer of {self.version}"

    @property
    def audit_rule_slug(self):
        return self.version.rule.slug


class ReviewComment(models.Model):
    """A remark on a version without a decision: a question to the drafter, an answer, a note to a co-reviewer."""

    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at", "id"]

    def __str__(self):
        return f"comment on {self.version} by {self.author}"

    @property
    def audit_rule_slug(self):
        return self.version.rule.slug
