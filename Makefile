# Two entry points: `make run` (main job on seeds/) and `make test`. The first use creates .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test dashboard bench-dedup

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

test: $(STAMP)
	$(PY) -m pytest
