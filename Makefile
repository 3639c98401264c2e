# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)

.PHONY: install lock browser demo serve test lint format bench bench-quick bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# requirements.in (the direct dependencies) -> requirements.txt (everything pinned, with hashes).
# Run after changing requirements.in; review the diff like code.
lock:
	$(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet pip-tools==7.6.2
	.venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in
	rm -rf .venv-lock

# Page tests drive Debian's Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the page tests..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
	  else echo "chromium not found and cannot be installed here: page tests will be skipped"; fi; }
	@# a Chinese font, so that the screenshots the page tests keep can be read (optional)
	@fc-list 2>/dev/null | grep -qi "wqy\|cjk" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || true; }

# Production web server (gunicorn.conf.py; secrets and ALLOWED_HOSTS from the environment).
serve: install
	$(BIN)/python manage.py migrate --no-input --settings=referral_site.settings.production
	$(BIN)/python manage.py collectstatic --no-input -v 0 --settings=referral_site.settings.production
	$(BIN)/python -m gunicorn referral_site.wsgi

demo: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_demo

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-deps: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt

# Full run (about 25 minutes here) and a quick one (under 3 minutes); both rewrite docs/benchmarks.md.
bench: bench-deps
	$(BIN)/python -m bench.run

bench-quick: bench-deps
	$(BIN)/python -m bench.run --quick
