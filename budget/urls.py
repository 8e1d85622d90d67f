"""The budget office's pages: populations (datasets) and funds."""

from django.urls import path

from . import views

urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset-list"),
    path("datasets/<int:pk>/default/", views.dataset_make_default, name="dataset-default"),
    path("funds/", views.fund_list, name="fund-list"),
    path("funds/<int:pk>/", views.fund_edit, name="fund-edit"),
]
