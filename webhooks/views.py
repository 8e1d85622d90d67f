"""The administrators' Webhooks pages: endpoints with their health, and each one's delivery log.

Adapters: parse, fetch, call the service, show its refusal. The services check the permission
themselves; the pages ask the same predicate before showing anything.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine.errors import DomainError
from pdp_portal import permissions
from portal.forms import submit
from portal.pages import refused, render_page

from .forms import EndpointForm, StateFilterForm
from .models import WebhookDelivery, WebhookEndpoint
from .services import NOT_ALLOWED, create_endpoint, pause_endpoint, remove_endpoint, resume_endpoint, retry_delivery

LOG_PAGE_SIZE = 50
_STATE_TAG = {"delivered": "pdp-tag--success", "failing": "pdp-tag--warning", "gave_up": "pdp-tag--error"}


def _require_admin(user):
    if not permissions.can_manage_webhooks(user):
        raise PermissionDenied(NOT_ALLOWED)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_list(request):
    form = EndpointForm(request.POST if request.method == "POST" else None)
    status, created = 200, None
    if request.method == "POST":
        created, status = submit(form, lambda data: create_endpoint(actor=request.user, **data))
        if created is not None:
            form = EndpointForm()
    _require_admin(request.user)
    context = {
        "rows": [_endpoint_row(endpoint) for endpoint in WebhookEndpoint.objects.with_health()],
        "form": form,
        "created": {"endpoint": created[0], "secret": created[1]} if created else None,
    }
    return render_page(request, "webhooks/endpoint_list.html", context, section="webhooks", status=status)


def _endpoint_row(endpoint):
    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "events": endpoint.events_label,
        "is_active": endpoint.is_active,
        "last_success": endpoint.last_success,
        "failing": endpoint.failing_count,
        "gave_up": endpoint.gave_up_count,
        "pending": endpoint.pending_count,
        "log_url": reverse("webhook-deliveries", args=[endpoint.pk]),
        "toggle_url": reverse("webhook-pause" if endpoint.is_active else "webhook-resume", args=[endpoint.pk]),
        "remove_url": reverse("webhook-remove", args=[endpoint.pk]),
    }


@login_required
@require_GET
def delivery_log(request, pk):
    _require_admin(request.user)
    endpoint = WebhookEndpoint.objects.filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    state_form = StateFilterForm(request.GET)
    deliveries = endpoint.deliveries.for_log()
    status = 200
    if state_form.is_valid():
        state = state_form.cleaned_data["state"]
        if state:
            deliveries = deliveries.filter(state=state)
    else:
        state, status = "", 400
        messages.error(request, f"Unknown state; the states are {', '.join(WebhookDelivery.State.values)}.")
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "endpoint": endpoint,
        "state": state,
        "states": WebhookDelivery.State.choices,
        "page": page,
        "rows": [_delivery_row(delivery) for delivery in page],
        "previous": _page_link(state, page.previous_page_number()) if page.has_previous() else "",
        "next": _page_link(state, page.next_page_number()) if page.has_next() else "",
    }
    return render_page(request, "webhooks/delivery_log.html", context, section="webhooks", status=status)


def _page_link(state, number):
    return "?" + urlencode({**({"state": state} if state else {}), "page": number})


def _delivery_row(delivery):
    return {
        "id": delivery.pk,
        "event": delivery.event,
        "state": delivery.state,
        "state_label": delivery.get_state_display(),
        "state_class": _STATE_TAG.get(delivery.state, "pdp-tag--muted"),
        "attempts": list(delivery.attempts.all()),
        "next_attempt_at": delivery.next_attempt_at if delivery.state in WebhookDelivery.OPEN else None,
        "delivered_at": delivery.delivered_at,
        "retry_url": reverse("webhook-retry", args=[delivery.pk]) if delivery.can_retry else "",
    }


def _endpoint_action(request, pk, service, done):
    endpoint = WebhookEndpoint.objects.filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    try:
        service(endpoint, actor=request.user)
    except DomainError as exc:
        return refused(request, exc, "webhook-list")
    messages.success(request, done.format(name=endpoint.name))
    return redirect("webhook-list")


@login_required
@require_POST
def endpoint_pause(request, pk):
    return _endpoint_action(request, pk, pause_endpoint, "Paused {name}: nothing is sent until it is resumed.")


@login_required
@require_POST
def endpoint_resume(request, pk):
    return _endpoint_action(request, pk, resume_endpoint, "Resumed {name}: it receives what happened meanwhile.")


@login_required
@require_POST
def endpoint_remove(request, pk):
    return _endpoint_action(request, pk, remove_endpoint, "Removed {name} and its delivery log.")


@login_required
@require_POST
def delivery_retry(request, pk):
    delivery = WebhookDelivery.objects.filter(pk=pk).first()
    if delivery is None:
        raise Http404("No such delivery.")
    back = reverse("webhook-deliveries", args=[delivery.endpoint_id])
    try:
        retry_delivery(delivery, actor=request.user)
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(request, f"Delivery #{delivery.pk} is sent again now.")
    return redirect(back)
