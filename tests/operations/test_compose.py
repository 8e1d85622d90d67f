"""compose.yaml, the production recipe: its services, what they share, and that Compose resolves it.

The file is read as YAML and checked against the code it runs. Then `docker compose config` (or
`docker-compose config`, which .ci/run installs) resolves it as Compose would, with dummy secrets;
that needs no Docker daemon. Without a Compose implementation that test is skipped, or fails under
PDP_REQUIRE_SERVICES=1 (a test skipped in the first CI pass runs again in the second).
"""

import json
import os
import shlex
import shutil
import subprocess
import urllib.request
from importlib.util import find_spec
from urllib.parse import urlsplit

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import resolve

from audit.signing import key_id
from tests.conftest import REQUIRE_SERVICES, ROOT

COMPOSE = ROOT / "compose.yaml"
PORTAL = ("migrate", "web", "worker", "beat")
SHARED = ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "PDP_DATA_DIR")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def argv(service):
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def commands(service):
    """The command lines a service runs: one, or each of `sh -c "a && b"`."""
    args = argv(service)
    if args[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in args[2].split("&&")]
    return [args]


def celery(args):
    """(app, subcommand, the rest) of a `celery -A APP SUBCOMMAND ...` line, else None."""
    if args[:1] != ["celery"]:
        return None
    app, rest = None, args[1:]
    while rest and rest[0].startswith("-"):
        if rest[0] in ("-A", "--app"):
            app, rest = rest[1], rest[2:]
        elif rest[0].startswith("--app="):
            app, rest = rest[0].partition("=")[2], rest[1:]
        else:
            rest = rest[1:]
    return app, rest[0], rest[1:]


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] if "=" in item else (item, None) for item in env)
    return env


def replicas(service):
    return (service.get("deploy") or {}).get("replicas", 1)


def runs_beat(service):
    found = celery(argv(service))
    return found is not None and (found[1] == "beat" or "--beat" in found[2] or "-B" in found[2])


def test_the_recipe_has_its_services(services):
    """PostgreSQL 15, Redis 7, the one-shot migrate, the web server, the workers and beat."""
    assert set(PORTAL) | {"postgres", "redis"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in PORTAL:
        assert services[name]["build"] == ".", name


def test_two_worker_containers_and_beat_in_none_of_them(services):
    """Two Celery workers (one service, two replicas), none of which also runs beat."""
    workers = {name: s for name, s in services.items() if (c := celery(argv(s))) and c[1] == "worker"}
    assert sum(replicas(s) for s in workers.values()) == 2
    for name, service in workers.items():
        assert "--beat" not in argv(service) and "-B" not in argv(service), name
        assert "container_name" not in service, "a named container cannot be scaled"
        assert "ports" not in service, "a published port cannot be scaled"


def test_beat_runs_in_exactly_one_container(services):
    """Only the `beat` service runs beat, as one container, its schedule kept on the data volume."""
    assert [name for name, s in services.items() if runs_beat(s)] == ["beat"]
    beat = services["beat"]
    assert replicas(beat) == 1
    args = argv(beat)
    schedule = args[args.index("--schedule") + 1]
    assert schedule.startswith(environment(beat)["PDP_DATA_DIR"] + "/")


def test_every_portal_process_shares_one_environment_and_the_data_volume(compose, services):
    """The same database, broker, SECRET_KEY and PDP_DATA_DIR, on the same named volume."""
    envs = {name: environment(services[name]) for name in PORTAL}
    first = envs["migrate"]
    assert first["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in first["DATABASE_URL"]
    assert first["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    for name, env in envs.items():
        assert {key: env.get(key) for key in SHARED} == {key: first[key] for key in SHARED}, name
    # web adds only its own metrics folder, which pdp_portal.serve empties at start: not the shared one.
    assert set(envs["web"]) - set(first) == {"PROMETHEUS_MULTIPROC_DIR"}
    assert not envs["web"]["PROMETHEUS_MULTIPROC_DIR"].startswith(first["PDP_DATA_DIR"])
    assert all(env == first for name, env in envs.items() if name != "web")

    data_dir = first["PDP_DATA_DIR"]
    mounts = {
        name: {m.split(":")[0] for m in services[name]["volumes"] if m.split(":")[1] == data_dir} for name in PORTAL
    }
    (volume,) = mounts["migrate"]
    assert volume in compose["volumes"], "a named volume, not a folder of one host"
    assert all(found == {volume} for found in mounts.values()), mounts


def test_no_secret_is_written_in_the_file(services):
    """SECRET_KEY and the database password come from the environment or .env, and are required."""
    for name in PORTAL:
        assert environment(services[name])["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert "${POSTGRES_PASSWORD:?" in environment(services[name])["DATABASE_URL"], name
    assert environment(services["postgres"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_each_command_runs_what_the_project_has(services, capsys):
    """The web server's module, the Celery app and the management commands all exist."""
    web = argv(services["web"])
    assert web[:3] == ["python", "-m", "pdp_portal.serve"]
    assert find_spec("pdp_portal.serve") is not None
    options = dict(zip(web[3::2], web[4::2], strict=True))
    assert options["--host"] == "0.0.0.0", "reachable from outside its container"
    assert options["--threads"] == "4"
    assert [p.rpartition(":")[2] for p in services["web"]["ports"]] == [options["--port"]]

    for name in ("worker", "beat"):
        app, subcommand, _ = celery(argv(services[name]))
        assert isinstance(find_app(app), Celery), name
        assert subcommand == name

    steps = commands(services["migrate"])
    assert [step[:3] for step in steps] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "collectstatic"],
        ["python", "manage.py", "shell"],
    ]
    assert {step[2] for step in steps} <= set(get_commands())
    # The last step makes the audit key file once, before the web and the workers start, and names it.
    assert steps[2][-2] == "-c"
    exec(steps[2][-1], {})
    assert capsys.readouterr().out == f"audit key id {key_id()}\n"


def test_the_processes_start_in_order_with_health_checks(services):
    """migrate waits for a healthy PostgreSQL; the others for migrate to finish and a healthy Redis."""
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }, name


@pytest.mark.parametrize("hosts", ["localhost,127.0.0.1", "pdp.example.gov", "*", ".example.gov,localhost"])
def test_the_web_health_check_asks_healthz_with_an_allowed_host(services, client, settings, monkeypatch, hosts):
    """The probe's request, sent through the portal with the same ALLOWED_HOSTS, gets /healthz's 200."""
    check = services["web"]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    sent = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: sent.append(request))
    monkeypatch.setenv("ALLOWED_HOSTS", hosts)
    settings.ALLOWED_HOSTS = hosts.split(",")
    exec(check[3], {})
    (request,) = sent
    url = urlsplit(request.full_url)
    assert (url.hostname, url.port) == ("127.0.0.1", 8000)
    assert resolve(url.path).url_name == "healthz"
    response = client.get(url.path, HTTP_HOST=request.get_header("Host"))
    assert response.status_code == 200


def test_the_image_runs_as_its_own_user_with_the_front_end_assets(services):
    """python:3.11-slim, not root, owning the data folder; every npm dependency copied from `npm ci`."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    final = dockerfile.split("\nFROM ")[-1]
    assert final.startswith("python:3.11-slim")
    users = [line.split()[1] for line in final.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert f"chown {users[-1]}:{users[-1]} {environment(services['web'])['PDP_DATA_DIR']}" in final
    assert "RUN pip install -r requirements.txt" in final
    assert "RUN npm ci" in dockerfile
    for package in json.loads((ROOT / "package.json").read_text())["dependencies"]:
        assert f"COPY --from=assets /src/node_modules/{package}/" in final, package

    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", "var", ".env"} <= ignored


@pytest.fixture(scope="module")
def compose_cli():
    """`docker compose`, else `docker-compose`: skipped without either, failed under PDP_REQUIRE_SERVICES=1."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20).returncode == 0:
        return [docker, "compose"]
    if found := shutil.which("docker-compose"):
        return [found]
    message = "no Compose implementation (docker compose, docker-compose): apt-get install docker-compose"
    if REQUIRE_SERVICES:
        pytest.fail(f"PDP_REQUIRE_SERVICES=1 but there is {message}")
    pytest.skip(message)


def compose_config(cli, tmp_path, **variables):
    """`config` on compose.yaml with only these variables: no shell setting and no .env of this checkout."""
    empty = tmp_path / "empty.env"
    empty.touch()
    # Where the docker CLI finds its compose plugin is kept; nothing else of this shell.
    kept = {name: os.environ[name] for name in ("PATH", "HOME", "DOCKER_CONFIG") if name in os.environ}
    env = {**kept, **variables}
    return subprocess.run(
        [*cli, "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file", str(empty), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def test_compose_resolves_the_recipe(compose_cli, tmp_path):
    """With SECRET_KEY and POSTGRES_PASSWORD set, Compose resolves every service and interpolates them."""
    done = compose_config(compose_cli, tmp_path, SECRET_KEY="dummy-secret-key", POSTGRES_PASSWORD="dummy-password")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert set(PORTAL) | {"postgres", "redis"} <= set(resolved)
    for name in PORTAL:
        env = environment(resolved[name])
        assert env["SECRET_KEY"] == "dummy-secret-key", name
        assert env["DATABASE_URL"] == "postgres://pdp:dummy-password@postgres:5432/pdp", name
    assert replicas(resolved["worker"]) == 2
    worker = argv(resolved["worker"])
    assert worker[worker.index("--concurrency") + 1] == "2"


def test_compose_refuses_the_recipe_without_a_secret_key(compose_cli, tmp_path):
    """No SECRET_KEY, no configuration: Compose stops and names it."""
    done = compose_config(compose_cli, tmp_path, POSTGRES_PASSWORD="dummy-password")
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr
