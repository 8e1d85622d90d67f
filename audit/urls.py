"""The audit pages of the portal."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.audit_list, name="audit-list"),
    path("export.csv", views.audit_export, name="audit-export"),
    path("verify/", views.audit_verify, name="audit-verify"),
    path("verification/<int:pk>/", views.audit_verification, name="audit-verification"),
]
