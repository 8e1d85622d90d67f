from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The API docs page is Swagger UI, loaded from its CDN with a stylesheet of its own inline: the one
# page whose policy is widened, and only by that. Its start-up script is a file (`?script`), not inline.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
api_docs = csp_update(
    {"script-src": [SWAGGER_CDN], "style-src": [SWAGGER_CDN, "'unsafe-inline'"], "img-src": [SWAGGER_CDN]}
)(SpectacularSwaggerSplitView.as_view(url_name="schema"))

# An unknown address under /api/ answers the API's JSON error, not the portal's page.
handler404 = "pdp_portal.api.not_found"
# A request refused before any view reads it (too large, too many fields) says why.
handler400 = "pdp_portal.api.bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("operations.urls")),
    path("api/v1/", include("pdp_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("audit/", include("audit.urls")),
    path("reviews/", include("reviews.urls")),
    path("account/tokens/", include("tokens.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("portal.urls")),
    path("", include("rules.urls")),
    path("", include("decisions.urls")),
    path("", include("budget.urls")),
]
