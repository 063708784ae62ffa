# The two commands a user needs (see README): `make lab` and `make test`.
# Everything runs from the project's own virtual environment in .venv.

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8888
HOST   ?= 127.0.0.1
BIN    := $(abspath $(VENV))/bin
PY     := $(BIN)/python

# nbgrader runs the `alembic` executable by name when it creates a gradebook, so the venv's
# bin/ must come first on PATH for every recipe, not only for `python -m nbgrader`.
export PATH := $(BIN):$(PATH)
# Use the platform's standard directories, as jupyter_core will by default from v6 (and stop
# it warning about the change on every command).
export JUPYTER_PLATFORM_DIRS := 1

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: help lab hub hub-needs-root hub-down test bench install install-dev hub-proxy test-tools release outputs \
        lint lock clean

help:
	@echo "make lab      set everything up and start JupyterLab on course/ (PORT=$(PORT))"
	@echo "make test     set everything up and run every test"
	@echo "make hub      a classroom on this machine: JupyterHub + nbgrader (as root; README)"
	@echo "make outputs  re-execute solutions/ so the stored outputs are current"
	@echo "make release  regenerate course/ from solutions/ (nbgrader generate_assignment)"
	@echo "make bench    the benchmarks in benchmarks/: clipping speed, grading speed (minutes)"
	@echo "make lint     ruff over the Python code"

$(PY):
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "Python 3.11 is needed (torch==2.13.0 is pinned for it); $(PYTHON) is %d.%d. Run: make PYTHON=python3.11 ..." % v)'
	$(PYTHON) -m venv $(VENV)

# Re-install only when a requirements file or the project's metadata changed.
$(RUNTIME_STAMP): $(PY) requirements.txt constraints.txt pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

lab: install
	@echo "Starting JupyterLab on course/, port $(PORT). Open the URL with the token printed below"
	@echo "(it opens lesson 01). Ctrl-C stops the server."
	cd course && exec $(BIN)/jupyter lab --no-browser --ip=$(HOST) --port=$(PORT) \
	  --ServerApp.port_retries=0 --ServerApp.answer_yes=True \
	  --LabApp.default_url=/lab/tree/01_vector_products/vector_products.ipynb $(ALLOW_ROOT)

# A classroom on this machine (deploy/jupyterhub; README "A class on JupyterHub"): accounts for
# an instructor and learners, nbgrader's exchange, the course released, then JupyterHub on
# http://$(HOST):$(HUB_PORT). `make hub-down` removes the accounts it created and its state.
HUB_STATE      ?= /srv/gradclip-hub
HUB_PORT       ?= 8000
HUB_INSTRUCTOR ?= instructor
HUB_LEARNERS   ?= learner1,learner2
HUB_RELEASE    ?= all
# HUB_OPEN_PATH=1: let the accounts through the folders above the course's Python (chmod o+x;
# make hub-down restores them), for a clone or a Python under a private home such as /root.
HUB_OPEN_PATH  ?=
HUB_DIR        := deploy/jupyterhub
CHP            := $(HUB_DIR)/node_modules/.bin/configurable-http-proxy

# JupyterHub's proxy, configurable-http-proxy, from the npm registry (pinned in package-lock.json).
$(CHP): $(HUB_DIR)/package.json $(HUB_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "JupyterHub's proxy needs Node.js 18+ and npm:"; \
	  echo "  sudo apt-get install nodejs npm"; exit 1; }
	cd $(HUB_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
hub-proxy: $(CHP)

# Checked first (prerequisites are made in order): before installing anything.
hub-needs-root:
	@[ "$$(id -u)" = 0 ] || { echo "make hub creates local accounts and starts servers as them,"; \
	  echo "so it runs as root: sudo make hub"; exit 1; }

hub: hub-needs-root install hub-proxy
	$(PY) $(HUB_DIR)/classroom.py --state $(HUB_STATE) setup --instructor $(HUB_INSTRUCTOR) \
	  --learners $(HUB_LEARNERS) --release "$(HUB_RELEASE)" $(if $(HUB_OPEN_PATH),--open-path)
	@echo "JupyterHub on http://$(if $(filter 127.%,$(HOST)),localhost,$(HOST)):$(HUB_PORT); log in with these accounts (user password):"
	@cat $(HUB_STATE)/hub/passwords.txt
	@echo "Ctrl-C stops the hub and every server; make hub-down removes the accounts."
	cd $(HUB_STATE)/hub && GRADCLIP_HUB_STATE=$(HUB_STATE) GRADCLIP_HUB_IP=$(HOST) \
	  GRADCLIP_HUB_PORT=$(HUB_PORT) exec $(BIN)/jupyterhub -f $(abspath $(HUB_DIR))/jupyterhub_config.py

hub-down:
	$(PY) $(HUB_DIR)/classroom.py --state $(HUB_STATE) teardown

# The autograder runs learners' code under bubblewrap, the test of its --db option starts a
# throwaway PostgreSQL server, and the classroom test JupyterHub with its Node.js proxy (Debian's
# packages). `make test` installs them where it can (as
# root, with apt-get) and says how otherwise.
TEST_PACKAGES = $(if $(shell command -v bwrap),,bubblewrap) \
                $(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql) \
                $(if $(shell command -v npm),,nodejs npm) \
                $(if $(shell command -v pkill),,procps)
test-tools:
	@missing="$(strip $(TEST_PACKAGES))"; [ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $$missing (the autograder's sandbox; a database and JupyterHub's proxy for its tests)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq $$missing || { apt-get update -qq && apt-get install -y -qq $$missing; }; \
	  else \
	    echo "make test needs these system packages: $$missing. On Debian/Ubuntu:"; \
	    echo "  sudo apt-get install $$missing"; \
	    exit 1; \
	  fi; }

# Two pytest-xdist workers, a whole test file (or solution notebook) each at a time: one grades
# while the other waits on a hub, a browser or a server, and the cores stay busy (README gives
# the time). The file keeps a module's fixtures and a notebook's cells together.
test: install-dev test-tools hub-proxy
	$(PY) -m pytest --durations=25 -n 2 --dist loadfile

# Full-size measurements; quiet the machine first, the numbers are only as steady as it is.
bench: install test-tools
	$(PY) benchmarks/clip_grad_norm.py
	$(PY) benchmarks/grading.py
	$(PY) benchmarks/cluster.py

release: install
	$(PY) -m autograder release

# Instructors read the solution notebooks with their outputs: refresh them after an edit.
# COURSE_FULL=1: the stored outputs are the full experiments (lesson 08 takes minutes on a CPU).
outputs: install
	COURSE_FULL=1 $(PY) -m autograder outputs

lint: install-dev
	$(BIN)/ruff check .

# Re-pin constraints.txt from a fresh environment built from requirements-dev.txt alone.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	sed '/^-c /d' requirements.txt > .lock-venv/requirements.txt
	sed '/^-r /d' requirements-dev.txt >> .lock-venv/requirements.txt
	.lock-venv/bin/pip install --quiet -r .lock-venv/requirements.txt
	( echo "# Every package the course's environment holds, pinned. Generated by 'make lock'; do not edit by hand."; \
	  .lock-venv/bin/pip freeze --exclude-editable | sed 's/+cpu$$//' | sort -f ) > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
