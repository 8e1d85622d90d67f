"""The rule pages, and the checks, review and release actions taken on a rule's page."""

from django.urls import path

from checks import views as check_views
from deployments import views as deployment_views
from reviews import views as review_views

from . import views

urlpatterns = [
    path("rules/", views.rule_list, name="rule-list"),
    # Must come before rules/<slug>/; it shadows the page of a rule whose slug is "upload".
    path("rules/upload/", views.upload, name="rule-upload"),
    path("rules/<slug:slug>/", views.rule_detail, name="rule-detail"),
    path("rules/<slug:slug>/v/<int:number>/checks/", check_views.version_checks, name="version-checks"),
    path("rules/<slug:slug>/v/<int:number>/approve/", review_views.approve, name="version-approve"),
    path("rules/<slug:slug>/v/<int:number>/reject/", review_views.reject, name="version-reject"),
    path("rules/<slug:slug>/v/<int:number>/comment/", review_views.comment, name="version-comment"),
    path("rules/<slug:slug>/promote/", deployment_views.promote_rule, name="rule-promote"),
    path("rules/<slug:slug>/rollback/", deployment_views.rollback_rule, name="rule-rollback"),
    path("rules/<slug:slug>/schedule/", deployment_views.schedule_rule, name="rule-schedule"),
    path("rules/<slug:slug>/schedules/<int:pk>/cancel/", deployment_views.cancel_schedule, name="rule-schedule-cancel"),
]
