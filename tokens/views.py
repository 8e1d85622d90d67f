"""The portal page where a person sees their API tokens and revokes them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from engine.errors import DomainError
from portal.pages import render_page

from .models import ApiToken
from .services import revoke_token


@login_required
@require_GET
def token_list(request):
    tokens = list(ApiToken.objects.of(request.user))
    return render_page(request, "tokens/token_list.html", {"tokens": tokens}, section="tokens")


@login_required
@require_POST
def token_revoke(request, pk):
    # Only one's own: another person's token is not found, whoever asks.
    token = ApiToken.objects.of(request.user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token of yours.")
    try:
        revoke_token(token, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked the token {token}: it no longer works.")
    return redirect("token-list")
