# Two entry points (README): `make render STACK=<stack>` and `make test`. Each sets up its own virtualenv
# from requirements.txt on a fresh machine; later runs reuse it until requirements.txt changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# checkov has its own virtualenv: its pins (packaging 23.2, boto3, ...) conflict with requirements.txt.
CHECKOV_VENV ?= .venv-checkov
STACK  ?= dev
PYTEST_ARGS ?=

.PHONY: render render-all test goldens checkov config-docs component-docs blue-green-doc architecture-doc models-lock clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# make render STACK=prod, or make render EXAMPLE=existing-cluster
render: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-render $(if $(EXAMPLE),--example $(EXAMPLE),--stack $(STACK))

render-all: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-render --all

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest $(PYTEST_ARGS)

# Rewrite the render-diff golden comments (tests/golden/render_diff/) after a deliberate change; read the diff.
goldens: $(VENV)/.installed
	UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_render_diff.py

# checkov on one rendered stack, as the tests run it: make checkov STACK=prod
checkov: render $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f build/$(STACK)/kubernetes.yaml --framework kubernetes --compact --skip-download

# Needs the Hub (HF_TOKEN for gated models); previews and renders only read models.lock.json.
models-lock: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-models-lock $(LOCK_ARGS)

config-docs: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-config-docs --write

component-docs: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-component-docs --write

blue-green-doc: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-blue-green-doc --write

architecture-doc: $(VENV)/.installed
	$(VENV)/bin/llm-tiers-architecture-doc --write

clean:
	rm -rf build .pytest_cache
