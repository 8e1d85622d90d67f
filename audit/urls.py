"""The audit pages of the portal."""

from django.urls import path  # noqa: F401

urlpatterns = []
