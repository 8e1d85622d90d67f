from django.contrib.auth import views as auth_views
from django.urls import path

from deployments import views as deployment_views
from reviews import views as review_views

from . import dataset_views, home_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home_views.home, name="home"),
    path("rules/", views.rule_list, name="rule-list"),
    path("environments/", deployment_views.board, name="environments"),
    # Must come before rules/<slug>/; it shadows the page of a rule whose slug is "upload".
    path("rules/upload/", views.upload, name="rule-upload"),
    path("rules/<slug:slug>/", views.rule_detail, name="rule-detail"),
    path("rules/<slug:slug>/v/<int:number>/checks/", views.version_checks, name="version-checks"),
    path("rules/<slug:slug>/v/<int:number>/approve/", review_views.approve, name="version-approve"),
    path("rules/<slug:slug>/v/<int:number>/reject/", review_views.reject, name="version-reject"),
    path("rules/<slug:slug>/promote/", deployment_views.promote_rule, name="rule-promote"),
    path("rules/<slug:slug>/rollback/", deployment_views.rollback_rule, name="rule-rollback"),
    path("datasets/", dataset_views.dataset_list, name="dataset-list"),
    path("datasets/<int:pk>/default/", dataset_views.dataset_make_default, name="dataset-default"),
    path("funds/", dataset_views.fund_list, name="fund-list"),
    path("funds/<int:pk>/", dataset_views.fund_edit, name="fund-edit"),
]
