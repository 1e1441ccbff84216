# Two entry points (README): `make render STACK=<stack>` and `make test`. Each sets up the virtualenv on a fresh
# machine; later runs reuse it until its requirements change: the runtime set (requirements.txt, what `pulumi up`
# installs) plus the development set (requirements-dev.txt: the render's core-kind validation, tests, lint).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# checkov has its own virtualenv: its pins (packaging 23.2, boto3, ...) conflict with requirements.txt.
CHECKOV_VENV ?= .venv-checkov
# lm-evaluation-harness at the version the eval Jobs install (versions.LM_EVAL_VERSION), in its own virtualenv
# (its datasets/evaluate pins are not the program's): tests/test_eval_gate.py runs the rendered lm-eval args with it.
LM_EVAL_VENV ?= .venv-lm-eval
STACK  ?= dev
PYTEST_ARGS ?=
FETCH_TIMEOUT ?= 60

.PHONY: render render-all crd-schemas lint test test-fast test-inputs goldens checkov config-docs component-docs blue-green-doc architecture-doc models-lock clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-opa.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# requirements-opa.txt says why it needs --ignore-requires-python.
	$(PY) -m pip install --quiet --disable-pip-version-check --ignore-requires-python -r requirements-opa.txt
	touch $@

# make render STACK=prod, or make render EXAMPLE=existing-cluster
render: $(VENV)/.installed-dev crd-schemas
	$(VENV)/bin/llm-tiers-render $(if $(EXAMPLE),--example $(EXAMPLE),--stack $(STACK))

render-all: $(VENV)/.installed-dev crd-schemas
	$(VENV)/bin/llm-tiers-render --all

# The pinned CRD schemas the render checks every custom resource against (schemas, limits, CEL), fetched once into
# .crds and verified by SHA-256, unless LLM_TIERS_CRD_DIR or CRD_SCHEMA_DIR names a copy. Without the network the
# render still runs and says how many custom resources went unchecked.
crd-schemas: $(VENV)/.installed
	@if [ -z "$$LLM_TIERS_CRD_DIR$$CRD_SCHEMA_DIR" ] && [ ! -d .crds ]; then \
	  $(PY) -m llm_tiers.cli.crds fetch --dest .crds --timeout 10 >/dev/null \
	  || echo "make: could not fetch the pinned CRD schemas (no network?); the render checks core objects only"; fi

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# The pinned upstream inputs the tests check against (CRD schemas, chart values, Pulumi's package metaschema), each file verified against the
# SHA-256 committed in components/llm_tiers/cli/. An input given by its environment variable is not fetched.
test-inputs: $(VENV)/.installed
	@if [ -z "$$CRD_SCHEMA_DIR" ] && [ ! -d .crds ]; then $(PY) -m llm_tiers.cli.crds fetch --dest .crds --timeout $(FETCH_TIMEOUT) >/dev/null; fi
	@if [ -z "$$CHART_VALUES_DIR" ] && [ ! -d .chart-values ]; then $(PY) -m llm_tiers.cli.chart_values fetch --dest .chart-values --timeout $(FETCH_TIMEOUT); fi
	@if [ -z "$$PULUMI_SCHEMA_DIR" ] && [ ! -d .pulumi-schema ]; then $(PY) -m llm_tiers.cli.metaschema fetch --dest .pulumi-schema --timeout $(FETCH_TIMEOUT); fi

$(LM_EVAL_VENV)/.installed: requirements-lm-eval.txt
	$(PYTHON) -m venv $(LM_EVAL_VENV)
	$(LM_EVAL_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lm-eval.txt
	touch $@

# ruff and mypy (pinned in requirements-dev.txt, configured in pyproject.toml): pyflakes and pycodestyle, then the
# package's types with pydantic's plugin; fails on any finding.
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --no-cache .
	$(VENV)/bin/mypy

# Lint first, then tries test-inputs; without the network the tests that need an input skip, saying how to get it
# (they fail instead when CI is set).
test: $(VENV)/.installed-dev $(CHECKOV_VENV)/.installed $(LM_EVAL_VENV)/.installed
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-inputs FETCH_TIMEOUT=10 || echo "make test: could not fetch the pinned CRD schemas / chart values (no network?); the tests that need them will say so"
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov LM_EVAL_PYTHON=$(CURDIR)/$(LM_EVAL_VENV)/bin/python \
	  $(PY) -m pytest $(PYTEST_ARGS)

# The pure/unit tests only: no test that runs a whole program (marker `render`, set by tests/conftest.py; a fast
# run that renders anyway fails, naming the test). No checkov/lm-eval virtualenvs needed.
test-fast: $(VENV)/.installed-dev
	@$(MAKE) --no-print-directory lint
	$(PY) -m pytest -m "not render" $(PYTEST_ARGS)

# Rewrite the render-diff golden comments (tests/golden/render_diff/) after a deliberate change; read the diff.
goldens: $(VENV)/.installed-dev
	UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_render_diff.py

# checkov on one rendered stack, as the tests run it: make checkov STACK=prod
checkov: render $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f build/$(STACK)/kubernetes.yaml --framework kubernetes --compact --skip-download

# Needs the Hub (HF_TOKEN for gated models); previews and renders only read models.lock.json.
models-lock: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-models-lock $(LOCK_ARGS)

# The repository's generated docs (not console scripts of the package: they write this repository's docs/).
config-docs: $(VENV)/.installed
	$(PY) -m llm_tiers.cli.config_docs --write

component-docs: $(VENV)/.installed
	$(PY) -m llm_tiers.cli.component_docs --write

blue-green-doc: $(VENV)/.installed
	$(PY) -m llm_tiers.cli.blue_green_doc --write

architecture-doc: $(VENV)/.installed
	$(PY) -m llm_tiers.cli.architecture_doc --write

clean:
	rm -rf build .pytest_cache .crds .chart-values
