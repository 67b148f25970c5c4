# Miaopu — the two commands: `make run` (set up and serve the demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi
# Debian packages the tests and the PDF sheets need (see shared/notes/toolchain.md).
SYSTEM_PACKAGES := chromium fonts-noto-cjk libharfbuzz-subset0 poppler-utils

.PHONY: run test lint soak bench install install-dev translations extract system-deps fonts check-migrations clean wheelhouse

run: install translations fonts  ## venv, install, migrate, demo data, serve on SQLite with the scheduler beside
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo load
	@# the scheduler's runner is its own process beside the web server; stopping `make run` stops both
	@$(FLASK) scheduler run & runner=$$!; trap 'kill $$runner 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

# one pytest worker per core, a file's tests on one worker (they share their module's fixtures); 0 runs serially
PYTEST_WORKERS ?= auto
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadfile

test: install-dev lint translations system-deps fonts  ## static checks, then the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set
	TEST_DATABASE_URL= $(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL: $$TEST_DATABASE_URL"; \
	  $(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS); \
	else echo "== TEST_DATABASE_URL not set: PostgreSQL pass skipped (SQLite only)"; fi

lint: install-dev  ## ruff: pyflakes, pycodestyle, import order, pyupgrade, bugbear and the bandit security rules (pyproject.toml)
	$(BIN)/ruff check crm tests bench deploy

soak: install-dev  ## load: 50 signed-in officers and managers for 5 minutes against gunicorn on PostgreSQL (SOAK_ARGS="--duration 60 --database-url …"); p50/p95 per page
	$(BIN)/python tests/load/soak.py $(SOAK_ARGS)

bench: install translations fonts  ## registry list at 100,000 enterprises; rules engine at 5,000; the province of issue #14 (50,000 enterprises: pages, engine, sheets, worker memory); matching every policy at 10,000; import/export at 50,000 rows
	$(BIN)/python bench/registry.py $(BENCH_ARGS)
	$(BIN)/python bench/ladder.py $(LADDER_BENCH_ARGS)
	$(BIN)/python bench/province.py $(PROVINCE_BENCH_ARGS)
	$(BIN)/python bench/policies.py $(POLICIES_BENCH_ARGS)
	$(BIN)/python bench/io.py $(IO_BENCH_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations: $(VENV)/.installed  ## compile the message catalogues (.po → .mo)
	$(BIN)/pybabel compile -d crm/translations

extract: $(VENV)/.installed  ## re-extract messages and update every catalogue
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --no-wrap --sort-output -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-fuzzy-matching --ignore-obsolete --no-wrap

fonts: $(VENV)/.installed  ## the PDFs' Chinese font subset, built once into instance/fonts (about 25 s; needs fonts-noto-cjk)
	@# without fonts-noto-cjk this says what to install and the PDFs fall back to the system's fonts: not a stop
	-$(FLASK) pdf-fonts

system-deps:  ## Debian packages: headless Chromium for browser tests, CJK fonts and HarfBuzz for PDFs
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "== installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo"; \
	  else echo "Please install these Debian packages first:$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

check-migrations: $(VENV)/.installed  ## models and migrations agree (on a scratch SQLite database)
	rm -f /tmp/miaopu-check.db
	DATABASE_URL=sqlite:////tmp/miaopu-check.db $(FLASK) db upgrade
	DATABASE_URL=sqlite:////tmp/miaopu-check.db $(FLASK) db check

# For a server without internet (README "Running in production"): on a machine WITH internet and the same
# Debian 12 / Python 3.11 / CPU architecture as the server, collect every runtime dependency as a wheel and
# pack the code with them. Copy dist/ to the server; `pip install --no-index --find-links` installs from it.
WHEELHOUSE ?= dist/wheelhouse
wheelhouse: | $(BIN)/python  ## dist/wheelhouse/ (every runtime wheel) and dist/miaopu-<version>.tar.gz (the code), for an offline install
	@mkdir -p $(WHEELHOUSE)
	$(BIN)/pip download -q -r requirements.txt -d $(WHEELHOUSE)
	@# anything published only as source is built into a wheel here, so the server needs no compiler
	$(BIN)/pip wheel -q -r requirements.txt --wheel-dir $(WHEELHOUSE) --find-links $(WHEELHOUSE)
	@rm -f $(WHEELHOUSE)/*.tar.gz $(WHEELHOUSE)/*.zip
	@version=$$(git describe --always --dirty 2>/dev/null || date +%Y%m%d); \
	  git archive --format=tar.gz --prefix=miaopu/ -o dist/miaopu-$$version.tar.gz HEAD && \
	  echo "== dist/miaopu-$$version.tar.gz and $(WHEELHOUSE)/ ($$(ls $(WHEELHOUSE) | wc -l) wheels)"

clean:
	rm -rf $(VENV) instance .pytest_cache
