# The two commands: `make demo` and `make test`. Each sets up .venv on first use.
# `make test-fast` leaves out the slow tests (training, the demo, browsers, Orthanc, server processes).
# `make docs` builds the documentation site into site/ (open site/index.html).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MKDOCS := NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

.PHONY: demo test test-fast lint docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	# every extra (docs/getting-started.md, "Install by need"; the starting points' tests need
	# txv, timm and hf, the English gold set english), the site's tools and the test tools
	$(PY) -m pip install -q -e '.[all,docs,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cxr-regions demo -o demo-output

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks docs/hooks
	$(PY) -m mypy
	$(MKDOCS) --quiet
	$(PY) -m pytest -q

# The edit-test loop: every test but those marked slow (tests/conftest.py says which); no mypy, no site.
# One OpenMP thread per test process: the fast tests' tensors are small; one process per CPU core
# (pytest-xdist), each test file in one process so that its module fixtures are made once.
test-fast: $(STAMP)
	$(PY) -m ruff check src tests benchmarks docs/hooks
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow" -n auto --dist loadfile

# ruff, then mypy over src/ (settings in pyproject.toml: strict on cxr_regions.contracts)
lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks docs/hooks
	$(PY) -m ruff format --check src tests benchmarks docs/hooks
	$(PY) -m mypy

# The site: offline (no plugin that downloads, the theme's web fonts off), --strict: a broken link,
# anchor or nav entry fails the build. The command reference is generated from the CLI (docs/hooks).
docs: $(STAMP)
	$(MKDOCS)

clean:
	rm -rf demo-output .pytest_cache .mypy_cache site
