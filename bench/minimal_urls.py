"""The portal's addresses and a minimal Django view: the same settings and middleware, no work."""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from pdp_portal.urls import handler400, handler404  # noqa: F401
from pdp_portal.urls import urlpatterns as portal


@csrf_exempt
def minimal(request):
    """Reads the JSON body as a decision request's, and answers a small JSON object."""
    body = json.loads(request.body)
    return JsonResponse({"account_id": body.get("account_id"), "ok": True})


urlpatterns = [path("bench/minimal", minimal), *portal]
