from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("pdp_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("audit/", include("audit.urls")),
    path("reviews/", include("reviews.urls")),
    path("", include("portal.urls")),
    path("", include("rules.urls")),
    path("", include("budget.urls")),
]
