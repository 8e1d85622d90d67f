"""What the REST API answers, as serializers: the OpenAPI schema's response bodies.

The endpoints build their bodies with `rules.representations`; these describe the same bodies field
by field (types, nullability), so the schema at /api/schema/ says exactly what a client receives, and
the schema-based tests hold every response to it.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="A stable code, e.g. not_found, permission_denied, STALE_HASH.")
    message = serializers.CharField(help_text="What went wrong and what to do, in one sentence.")
    details = serializers.JSONField(required=False, help_text="Field by field problems, where there are some.")


class ErrorResponse(serializers.Serializer):
    """Every error the API answers has this body, whatever its status."""

    error = ErrorDetail()


class Check(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["lint", "simulation"])
    status = serializers.CharField()
    progress = serializers.IntegerField()
    progress_note = serializers.CharField(allow_blank=True)
    findings = serializers.ListField(child=serializers.JSONField())
    result = serializers.JSONField()
    engine_version = serializers.CharField(allow_blank=True)
    dataset_hash = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


class ReviewBody(serializers.Serializer):
    reviewer = serializers.CharField()
    role = serializers.CharField()
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    comment = serializers.CharField(allow_blank=True)
    content_hash = serializers.CharField()
    created_at = serializers.DateTimeField()


class Release(serializers.Serializer):
    environment = serializers.CharField()
    version = serializers.IntegerField(help_text="0 when the environment serves nothing of the rule.")
    label = serializers.CharField()
    content_hash = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class VersionSummary(serializers.Serializer):
    rule = serializers.CharField()
    number = serializers.IntegerField()
    label = serializers.CharField()
    status = serializers.CharField()
    content_hash = serializers.CharField()
    uploaded_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    lint = Check(allow_null=True)
    simulation = Check(allow_null=True)


class VersionDetail(VersionSummary):
    reviews = ReviewBody(many=True)
    required_roles = serializers.ListField(child=serializers.CharField())
    missing_roles = serializers.ListField(child=serializers.CharField())
    document = serializers.JSONField(help_text="The rule document, as pushed.")


class PushedVersion(VersionDetail):
    name = serializers.CharField(help_text="The rule's display name.")


class RuleListed(serializers.Serializer):
    rule = serializers.CharField()
    name = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    program = serializers.CharField(allow_blank=True)
    latest_version = serializers.IntegerField(allow_null=True)
    releases = serializers.DictField(child=Release())


class RuleList(serializers.Serializer):
    rules = RuleListed(many=True)


class RuleStatus(serializers.Serializer):
    rule = serializers.CharField()
    name = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    program = serializers.CharField(allow_blank=True)
    releases = serializers.DictField(child=Release())
    latest = VersionDetail(allow_null=True)
    versions = VersionSummary(many=True)


class Deployment(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    rule_name = serializers.CharField()
    environment = serializers.CharField()
    kind = serializers.CharField()
    to = serializers.CharField()
    actor = serializers.CharField(allow_null=True, help_text="None when the system moved the pointer.")
    by = serializers.CharField(help_text="Who moved it, and on whose behalf.")
    reason = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    duration_s = serializers.FloatField()
    created_at = serializers.DateTimeField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(help_text="The version live before, e.g. v1 or v0.")
        return fields


class ScheduledPromotion(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    environment = serializers.CharField()
    version = serializers.IntegerField()
    label = serializers.CharField()
    at = serializers.DateTimeField(help_text="When the system carries out the promotion.")
    state = serializers.ChoiceField(choices=["scheduled", "done", "cancelled", "failed"])
    note = serializers.CharField(allow_blank=True)
    scheduled_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    outcome = serializers.CharField(allow_blank=True, help_text="What happened at the time, or why it was cancelled.")
    carried_out_at = serializers.DateTimeField(allow_null=True)
    cancelled_by = serializers.CharField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class ScheduleList(serializers.Serializer):
    schedules = ScheduledPromotion(many=True)


class ReviewResult(serializers.Serializer):
    review = ReviewBody()
    version = serializers.IntegerField()
    status = serializers.CharField()
    staging = Release()


class Comment(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    author = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class Decision(serializers.Serializer):
    rule = serializers.CharField()
    version = serializers.IntegerField()
    content_hash = serializers.CharField()
    environment = serializers.CharField()
    in_force = serializers.BooleanField(help_text="Whether the date asked for is within valid_from..valid_to.")
    eligible = serializers.BooleanField(allow_null=True)
    amount = serializers.FloatField(allow_null=True)
    error = serializers.CharField(required=False, help_text="Why this rule could not decide for this citizen.")
    not_in_force = serializers.CharField(required=False, help_text="Why the rule is not in force on that date.")


class CitizenDecisions(serializers.Serializer):
    account_id = serializers.CharField()
    test_account = serializers.BooleanField()
    decisions = Decision(many=True)


class DecisionResult(CitizenDecisions):
    request_id = serializers.CharField(help_text="The decision log's key for these decisions (X-Request-ID).")
    date = serializers.DateField()


class BatchDecision(serializers.Serializer):
    rule = serializers.CharField()
    version = serializers.IntegerField()
    environment = serializers.CharField()
    in_force = serializers.BooleanField()
    eligible = serializers.BooleanField(allow_null=True)
    amount = serializers.FloatField(allow_null=True)
    error = serializers.CharField(required=False)
    not_in_force = serializers.CharField(required=False)


class BatchCitizen(serializers.Serializer):
    account_id = serializers.CharField()
    test_account = serializers.BooleanField()
    decisions = BatchDecision(many=True)


class BatchVersion(serializers.Serializer):
    rule = serializers.CharField()
    version = serializers.IntegerField()
    environment = serializers.CharField()
    content_hash = serializers.CharField()
    citizens = serializers.IntegerField(help_text="How many citizens of the batch this version decided.")


class BatchDecisionResult(serializers.Serializer):
    request_id = serializers.CharField()
    date = serializers.DateField()
    versions = BatchVersion(many=True, help_text="Each version that answered, with its content hash.")
    results = BatchCitizen(many=True, help_text="One per citizen, in the order sent.")


# The path parameters as the URL patterns take them (`<slug:slug>`, `<int:number>`): an address
# with anything else in their place matches no endpoint and is answered 404.
SLUG = OpenApiParameter(
    "slug",
    {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    OpenApiParameter.PATH,
    description="The rule's slug, e.g. wildfire-aid-2024.",
)
NUMBER = OpenApiParameter(
    "number", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="The version's number: 1, 2, …"
)


SCHEDULE_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH, description="The scheduled promotion's id."
)


def error(description):
    return OpenApiResponse(ErrorResponse, description=description)


# The errors every authenticated endpoint may answer.
COMMON_ERRORS = {
    400: error("The request is malformed or a field is invalid."),
    401: error("No valid credentials: log in (POST /api/v1/auth/token/) and send `Authorization: Token …`."),
    403: error("Your role may not do this."),
    404: error("No such object, or you may not see it."),
    405: error("The method is not allowed here."),
    415: error("The body's content type is not JSON."),
    503: error(
        "The database cannot be reached (code database_unavailable); nothing was written. "
        "Retry after the seconds the Retry-After header gives."
    ),
}


def responses(ok_status, body, **more):
    """An endpoint's responses: its body on success, then the error body for every error it may answer."""
    extra = {int(status.lstrip("s")): error(text) for status, text in more.items()}
    return {ok_status: body, **COMMON_ERRORS, **extra}
