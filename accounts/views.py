"""The answer to a sign-in while the name is locked out (django-axes' AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    """The API answers its own JSON 429 (the token endpoint raised it); a page gets the lockout page."""
    if request.path.startswith("/api/") and original_response is not None:
        return original_response
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "username": username,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_timedelta": settings.AXES_COOLOFF_TIME,
    }
    return render(request, "registration/locked_out.html", context, status=429)
