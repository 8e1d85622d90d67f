"""The probes and the metrics: plain views, outside the portal and the API, that need no sign-in.

None of them reads the session or the signed-in person, so a probe costs no query of that kind
and sets no cookie; the refusal middleware leaves them alone (audit/middleware.py).
"""

import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from pdp_portal.permissions import may_scrape_metrics

from .collectors import DatabaseCollector
from .metrics import apply_pending
from .readiness import run_checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every component is ok, else 503 naming those that are not."""
    components = run_checks()
    failed = [c.name for c in components if not c.ok]
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "components": {c.name: c.as_json() for c in components},
    }
    return JsonResponse(body, status=503 if failed else 200)


def forget_dead_processes(folder: str) -> None:
    """Drop the live gauges (pending decisions, their lag) of this host's processes that have exited, as a
    server's worker-exit hook would: a worker that died would otherwise be reported waiting forever."""
    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text: this host's processes' figures and the cluster-wide ones read from the database."""
    if not may_scrape_metrics(
        authorization=request.headers.get("Authorization", ""), remote_addr=request.META.get("REMOTE_ADDR")
    ):
        return JsonResponse(
            {
                "detail": "Metrics need Authorization: Bearer <PDP_METRICS_TOKEN>, "
                "or a request from PDP_METRICS_ALLOWED_NETWORKS."
            },
            status=403,
        )
    apply_pending()  # this process's counts still queued (operations.metrics)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under the web server (pdp_portal/serve.py): the figures of every process of this host, from their files.
        forget_dead_processes(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    cluster = CollectorRegistry()
    cluster.register(DatabaseCollector())
    return HttpResponse(generate_latest(processes) + generate_latest(cluster), content_type=CONTENT_TYPE_LATEST)
