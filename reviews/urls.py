"""The reviews pages of the portal."""

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:slug>/v/<int:number>/assign/", views.assign, name="version-assign"),
]
