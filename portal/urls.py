"""The portal's own pages: signing in and out, each person's home, the environments board, comparing versions."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import board, compare, home

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("environments/", board.board, name="environments"),
    path("rules/<slug:slug>/compare/", compare.compare_versions, name="rule-compare"),
]
