"""REST endpoints for rules and their versions."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from deployments.models import Release
from engine.document import MAX_DOCUMENT_BYTES
from pdp_portal import permissions, schema
from reviews.models import Review

from .models import RuleVersion
from .representations import release_dict, version_dict
from .services import push_rule_version


class RawDocumentParser(BaseParser):
    """Leaves the body as bytes: the service parses rule documents itself, strictly."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the limit is enough for the service to refuse an oversized document.
        return stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b""


def _versions(rule):
    return (
        RuleVersion.objects.filter(rule=rule)
        .with_checks()
        .prefetch_related(Prefetch("reviews", queryset=Review.objects.select_related("reviewer")))
        .order_by("-number")
    )


def rule_status(rule):
    releases = Release.objects.filter(rule=rule).select_related("environment", "version")
    versions = list(_versions(rule))
    return {
        "rule": rule.slug,
        "name": rule.display_name,
        "title": rule.title,
        "program": rule.program,
        "releases": {r.environment.name: release_dict(r) for r in releases},
        "latest": version_dict(versions[0]) if versions else None,
        "versions": [version_dict(v, detail=False) for v in versions],
    }


@extend_schema(
    methods=["POST"],
    operation_id="rules_push",
    request={"application/json": OpenApiTypes.OBJECT},
    responses=schema.responses(
        201,
        schema.PushedVersion,
        s409="The document is the same as a version already pushed, or another push of the rule won the race.",
    ),
    description="Push a rule document (the raw JSON body) as the next version of its rule.",
)
@extend_schema(
    methods=["GET"],
    operation_id="rules_list",
    responses=schema.responses(200, schema.RuleList),
    description="The rules you may see.",
)
@api_view(["GET", "POST"])
@parser_classes([RawDocumentParser])
def rules_collection(request):
    if request.method == "POST":
        raw = request.data if isinstance(request.data, bytes) else b""  # DRF gives {} for an empty body
        version = push_rule_version(raw, actor=request.user)
        version = _versions(version.rule).get(pk=version.pk)
        body = version_dict(version)
        body["name"] = version.rule.display_name
        return Response(
            body, status=201, headers={"Location": f"/api/v1/rules/{version.rule.slug}/versions/{version.number}/"}
        )
    rules = permissions.visible_rules(request.user).with_listing()
    return Response(
        {
            "rules": [
                {
                    "rule": rule.slug,
                    "name": rule.display_name,
                    "title": rule.title,
                    "program": rule.program,
                    "latest_version": rule.latest_number,
                    "releases": {r.environment.name: release_dict(r) for r in rule.releases.all()},
                }
                for rule in rules
            ]
        }
    )


@extend_schema(
    operation_id="rule_status",
    parameters=[schema.SLUG],
    responses=schema.responses(200, schema.RuleStatus),
    description="A rule's live pointers, versions and their checks.",
)
@api_view(["GET"])
def rule_detail(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    return Response(rule_status(rule))


@extend_schema(
    operation_id="version_detail",
    parameters=[schema.SLUG, schema.NUMBER],
    responses=schema.responses(200, schema.VersionDetail),
    description="One version: document, checks, findings, reviews.",
)
@api_view(["GET"])
def version_detail(request, slug, number):
    rule = permissions.get_rule_for_user(request.user, slug)
    version = get_object_or_404(_versions(rule), number=number)
    return Response(version_dict(version))
