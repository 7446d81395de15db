# `make run` (the main job on seeds/) and `make test` (everything CI runs). The first use creates .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Debian's headless Chromium and its driver, for the browser tests (no browser download is possible here)
BROWSER := /usr/bin/chromium /usr/bin/chromedriver

.PHONY: run test test-fast lint dashboard browser

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/storyflow run seeds --data data

# The newsroom dashboard over data/ (the output of `make run`) on http://127.0.0.1:8501
dashboard: $(STAMP)
	$(PY) -m dashboard --data data

$(BROWSER):
	@sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	$$sudo apt-get install -y chromium chromium-driver || { $$sudo apt-get update && $$sudo apt-get install -y chromium chromium-driver; }

browser: $(BROWSER)

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline flows dashboard bench tests

# The unit tier: no model, no servers, no browser (the inner loop).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

# Everything: lint, unit tier, and the slow tier with the real model, Prefect, Dask, dashboard and browser.
test: $(STAMP) $(BROWSER) lint
	$(PY) -m pytest
