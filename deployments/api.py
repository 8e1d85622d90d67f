"""REST endpoints for promotion and rollback."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from pdp_portal import permissions, schema
from pdp_portal.fields import Text
from rules.representations import deployment_dict

from .services import promote, rollback


class VersionNumber(serializers.IntegerField):
    """A version number in ASCII digits: Python's int() would read "١" (Arabic-Indic one) as 1."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class PromoteRequest(serializers.Serializer):
    environment = Text(default="production")
    version = VersionNumber(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="The version to put live: the one on staging (the default), or one live in the environment before.",
    )
    note = Text(
        required=False, default="", allow_blank=True, max_length=2000, help_text="A release note, kept with it."
    )


class RollbackRequest(serializers.Serializer):
    environment = Text(default="production")
    to = Text(default="previous", max_length=20)
    reason = Text(max_length=2000)
    expected_from = Text(
        required=False, allow_null=True, default=None, max_length=20, help_text="The version you saw live, e.g. v3."
    )


@extend_schema(
    operation_id="rule_promote",
    parameters=[schema.SLUG],
    request=PromoteRequest,
    responses=schema.responses(
        201, schema.Deployment, s409="The release rules refuse this move (the message says why)."
    ),
    description=(
        "Put a version live: production takes the version on staging, and any environment takes again a "
        "version it served before (kind `redeploy`), with its sign-offs checked on its content hash."
    ),
)
@api_view(["POST"])
def promote_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    form = PromoteRequest(data=request.data)
    form.is_valid(raise_exception=True)
    args = form.validated_data
    deployment = promote(
        rule, actor=request.user, environment=args["environment"], number=args["version"], note=args["note"]
    )
    return Response(deployment_dict(deployment), status=201)


@extend_schema(
    operation_id="rule_rollback",
    parameters=[schema.SLUG],
    request=RollbackRequest,
    responses=schema.responses(
        201, schema.Deployment, s409="Nothing to roll back to, or the live version is not the one you saw."
    ),
    description="Move a live pointer back: to 'previous', 'vN' or 'v0'.",
)
@api_view(["POST"])
def rollback_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    form = RollbackRequest(data=request.data)
    form.is_valid(raise_exception=True)
    args = form.validated_data
    deployment = rollback(
        rule,
        actor=request.user,
        reason=args["reason"],
        to=args["to"],
        environment=args["environment"],
        expected_from=args["expected_from"],
    )
    return Response(deployment_dict(deployment), status=201)
