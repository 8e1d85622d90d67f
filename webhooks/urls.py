"""The administrators' Webhooks pages: endpoints and each one's delivery log."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.endpoint_list, name="webhook-list"),
    path("<int:pk>/", views.delivery_log, name="webhook-deliveries"),
    path("<int:pk>/pause/", views.endpoint_pause, name="webhook-pause"),
    path("<int:pk>/resume/", views.endpoint_resume, name="webhook-resume"),
    path("<int:pk>/remove/", views.endpoint_remove, name="webhook-remove"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="webhook-retry"),
]
