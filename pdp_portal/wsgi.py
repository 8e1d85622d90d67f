"""The portal's WSGI application: Django's, behind the decision front (decisions/front.py), which answers
good POST /api/v1/decisions requests without Django's handler and gives everything else to Django.

Everything loaded at start-up (Django, the URLconf and every view it imports, the libraries) is moved out
of the garbage collector's sight once loaded (gc.freeze): it lives as long as the process, and without
this each full collection walks all of it, stopping the process for about 100 ms (measured) every few
seconds under load, which is what a slow 1% of requests would wait for.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pdp_portal.settings")
django_application = get_wsgi_application()

from decisions.front import DecisionFront  # noqa: E402  (after Django is set up)

application = DecisionFront(django_application)

get_resolver().url_patterns  # imports every view now rather than at the first request  # noqa: B018
gc.collect()
gc.freeze()
