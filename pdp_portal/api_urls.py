from django.urls import path

from decisions import api as decisions_api
from deployments import api as deployments_api
from reviews import api as reviews_api
from rules import api as rules_api
from tokens import api as tokens_api

urlpatterns = [
    path("auth/token/", tokens_api.obtain_token, name="api-token"),
    path("auth/token/revoke/", tokens_api.revoke_current_token, name="api-token-revoke"),
    path("rules/", rules_api.rules_collection, name="api-rules"),
    path("rules/<slug:slug>/", rules_api.rule_detail, name="api-rule"),
    path("rules/<slug:slug>/versions/<int:number>/", rules_api.version_detail, name="api-version"),
    path("rules/<slug:slug>/versions/<int:number>/reviews/", reviews_api.review_version, name="api-review"),
    path("rules/<slug:slug>/versions/<int:number>/comments/", reviews_api.comment_version, name="api-comment"),
    path("rules/<slug:slug>/promote/", deployments_api.promote_rule, name="api-promote"),
    path("decisions", decisions_api.decisions, name="api-decisions"),
    path("decisions/", decisions_api.decisions_with_slash, name="api-decisions-slash"),
    path("decisions/batch", decisions_api.decisions_batch, name="api-decisions-batch"),
    path("rules/<slug:slug>/rollback/", deployments_api.rollback_rule, name="api-rollback"),
    path("rules/<slug:slug>/schedules/", deployments_api.rule_schedules, name="api-schedules"),
    path(
        "rules/<slug:slug>/schedules/<int:id>/cancel/",
        deployments_api.cancel_rule_schedule,
        name="api-schedule-cancel",
    ),
]
