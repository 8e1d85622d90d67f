"""REST endpoint for sign-offs and rejections."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from deployments.models import Release
from pdp_portal import permissions, schema
from pdp_portal.fields import Text
from rules.models import RuleVersion
from rules.representations import release_dict, review_dict

from .services import COMMENT_MAX, approve_version, comment_on_version, reject_version


class ReviewRequest(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    expected_hash = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="The content hash you reviewed.")
    role = Text(required=False, allow_null=True, default=None)
    comment = Text(required=False, allow_blank=True, default="", max_length=5000)


def _version_for(request, slug, number):
    """The rule and its version `number`, for this person (404 when they may not see it)."""
    rule = permissions.get_rule_for_user(request.user, slug)
    return rule, get_object_or_404(RuleVersion.objects.select_related("rule"), rule=rule, number=number)


@extend_schema(
    operation_id="version_review",
    parameters=[schema.SLUG, schema.NUMBER],
    request=ReviewRequest,
    responses=schema.responses(
        201,
        schema.ReviewResult,
        s409="The version is not in review, its content is not the hash you saw, or you signed this role already.",
    ),
    description="Approve or reject a version in review, for the hash you saw.",
)
@api_view(["POST"])
def review_version(request, slug, number):
    rule, version = _version_for(request, slug, number)
    form = ReviewRequest(data=request.data)
    form.is_valid(raise_exception=True)
    args = form.validated_data
    if args["decision"] == "approve":
        review = approve_version(
            version, actor=request.user, expected_hash=args["expected_hash"], role=args["role"], comment=args["comment"]
        )
    else:
        review = reject_version(
            version, actor=request.user, expected_hash=args["expected_hash"], role=args["role"], comment=args["comment"]
        )
    version.refresh_from_db()
    staging = Release.objects.select_related("environment", "version").get(rule=rule, environment__name="staging")
    return Response(
        {
            "review": review_dict(review),
            "version": version.number,
            "status": version.status,
            "staging": release_dict(staging),
        },
        status=201,
    )


class CommentRequest(serializers.Serializer):
    body = Text(allow_blank=True, max_length=COMMENT_MAX, help_text="The comment; no decision.")


@extend_schema(
    operation_id="version_comment",
    parameters=[schema.SLUG, schema.NUMBER],
    request=CommentRequest,
    responses=schema.responses(201, schema.Comment),
    description="Comment on a version without approving or rejecting it.",
)
@api_view(["POST"])
def comment_version(request, slug, number):
    _, version = _version_for(request, slug, number)
    form = CommentRequest(data=request.data)
    form.is_valid(raise_exception=True)
    comment = comment_on_version(version, actor=request.user, body=form.validated_data["body"])
    return Response(
        {"id": comment.pk, "version": version.number, "author": comment.author.username, "body": comment.body,
         "created_at": comment.created_at},
        status=201,
    )  # fmt: skip
