# The two commands: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	# english: the IU X-ray reports of the English gold set; txv, timm, hf: the starting points' tests.
	$(PY) -m pip install -q -e '.[test,cluster,english,txv,timm,hf]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cxr-regions demo -o demo-output

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

clean:
	rm -rf demo-output .pytest_cache
