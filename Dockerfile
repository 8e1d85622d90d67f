# The portal's image: the web server, the Celery workers and beat all run from it (compose.yaml).
#
#   docker build -t pdp_portal .
#
# The front-end assets (U.S. Web Design System, Chart.js) come from the npm registry, pinned by
# package-lock.json, in a build stage of their own; collectstatic gathers them at run time, into
# PDP_DATA_DIR (compose.yaml's migrate service).

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=pdp_portal.settings \
    PYTHONPATH=/app \
    PDP_DATA_DIR=/var/lib/pdp

# The portal runs as `pdp`, which owns the data folder (a named volume mounted there takes its owner
# from the image) and nothing else: the code is root's and read-only to it.
RUN groupadd --system --gid 10001 pdp \
    && useradd --system --uid 10001 --gid pdp --home-dir /var/lib/pdp --no-create-home --shell /usr/sbin/nologin pdp \
    && mkdir -p /var/lib/pdp \
    && chown pdp:pdp /var/lib/pdp

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Only what settings.STATICFILES_DIRS reads from node_modules.
COPY --from=assets /src/node_modules/@uswds/uswds/dist node_modules/@uswds/uswds/dist
COPY --from=assets /src/node_modules/chart.js/dist node_modules/chart.js/dist
COPY . .
RUN python -m compileall -q /app

USER pdp
EXPOSE 8000
CMD ["python", "-m", "pdp_portal.serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--threads", "4"]
