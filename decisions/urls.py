"""The decision log's pages: a version's replay, and what a rollback would change."""

from django.urls import path

from . import views

urlpatterns = [
    path("rules/<slug:slug>/v/<int:number>/replay/", views.version_replay, name="version-replay"),
    path("rules/<slug:slug>/rollback/impact/", views.rollback_impact_view, name="rule-rollback-impact"),
    path("rules/<slug:slug>/rollback/affected.csv", views.rollback_affected_csv, name="rule-rollback-affected"),
]
