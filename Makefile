# The two commands: `make run` and `make test`. Everything they need is installed here:
# requirements-dev.txt, which is requirements.txt (the run time), the project itself and the
# test, lint and benchmark tools.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PDP_DATA_DIR ?= $(CURDIR)/var
export PORT ?= 8000
# The Procfile and the printed hints run the virtualenv's python, celery and hms.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test install lint format bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

run: install
	mkdir -p "$(PDP_DATA_DIR)"
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py collectstatic --no-input -v 0
	@if [ -z "$$PDP_DEMO_PASSWORD" ]; then \
	  test -s "$(PDP_DATA_DIR)/demo_password" || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(12))" > "$(PDP_DATA_DIR)/demo_password"; \
	  export PDP_DEMO_PASSWORD=$$(cat "$(PDP_DATA_DIR)/demo_password"); \
	  echo "PDP_DEMO_PASSWORD is not set; the demo password is kept in $(PDP_DATA_DIR)/demo_password"; \
	fi; \
	$(BIN)/python manage.py seed_demo && \
	echo "" && \
	echo "  pdp_portal: http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)" && \
	echo "  Log in as drafter, LegalTeam, BudgetOffice or admin with password: $${PDP_DEMO_PASSWORD}" && \
	echo "  CLI: $(BIN)/hms login --user drafter   (HMS_SERVER=http://127.0.0.1:$(PORT))" && \
	echo "" && \
	exec $(BIN)/honcho start -f Procfile -p $(PORT)

# Two pytest-xdist workers, a test file each at a time (tests sharing a live portal stay together):
# 3m18s against 4m13s serially on a 2-core machine, back to back. PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# ruff; the import contracts in pyproject.toml ([tool.importlinter]); mypy on the files that
# pyproject.toml's [tool.mypy] names.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/simulation.py
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/audit_append.py
	$(BIN)/python bench/tokens.py
	if command -v wrk >/dev/null; then $(BIN)/python bench/decisions.py; else echo "bench/decisions.py needs wrk: apt-get install -y wrk"; fi

clean:
	rm -rf $(VENV) node_modules var
