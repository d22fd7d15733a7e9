# DermRelay: the README's commands. `make run` serves the platform with demo data; `make test` runs every suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test check lock schema frontend api-client bench bench-ingest bench-upload bench-tiles bench-quality bench-e2e bench-dermoscopy train-quality train-lesion train-classifiers evaluate-dermoscopy clean

# Python packages from the lock (every version pinned, every file's hash checked), then the project itself.
$(INSTALLED): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(INSTALLED)

## lock: pin every Python dependency with its hashes again after pyproject.toml changed (requirements*.lock)
LOCK_FLAGS := --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --quiet
lock:
	test -x var/lock-tools/bin/pip-compile || { $(PYTHON) -m venv var/lock-tools && var/lock-tools/bin/pip install --quiet pip-tools==7.7.0; }
	var/lock-tools/bin/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	var/lock-tools/bin/pip-compile $(LOCK_FLAGS) --extra=test --output-file=requirements-dev.lock pyproject.toml

# The browser app: npm packages from the lock file, then a type-checked Vite build into frontend/dist.
NPM_INSTALLED := frontend/node_modules/.installed
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json
$(NPM_INSTALLED): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_INSTALLED)

frontend/dist/index.html: $(NPM_INSTALLED) $(FRONTEND_SOURCES)
	cd frontend && npm run --silent build

## frontend: build the browser app (served by Django under /static/app/)
frontend: frontend/dist/index.html

## api-client: regenerate the frontend's typed API client from the OpenAPI schema (after an API change)
api-client: $(INSTALLED) $(NPM_INSTALLED)
	mkdir -p var && $(PY) manage.py spectacular --validate --file var/openapi.yaml
	cd frontend && npx --no-install openapi-typescript ../var/openapi.yaml --output src/api/schema.d.ts

## run: install, build the browser app, migrate, seed demo data, then serve the web app and a Celery worker (Ctrl-C stops both)
run: $(INSTALLED) frontend/dist/index.html
	$(PY) manage.py migrate --noinput
	$(PY) manage.py models_sync
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	./scripts/run.sh

## test: the frontend's unit tests (Vitest), then the embedded suite (SQLite, file-system broker) and the
## services suite (PostgreSQL + Redis), each with the browser tests (Playwright + Chromium)
test: $(INSTALLED) frontend/dist/index.html
	./scripts/test.sh

## check: Django's checks, missing migrations, a valid OpenAPI schema, and a frontend API client generated from it
check: $(INSTALLED) $(NPM_INSTALLED)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	mkdir -p var && $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml
	cd frontend && npx --no-install openapi-typescript ../var/openapi.yaml --output ../var/schema.d.ts >/dev/null
	@diff -q frontend/src/api/schema.d.ts var/schema.d.ts >/dev/null || { \
	  echo "frontend/src/api/schema.d.ts is not generated from the current API: run 'make api-client'"; exit 1; }

## bench: every benchmark; results with machine and versions in benchmarks/results/
bench: bench-ingest bench-upload bench-tiles bench-quality bench-e2e bench-dermoscopy

bench-ingest: $(INSTALLED)
	$(PY) benchmarks/ingest.py --repeats 3

bench-upload: $(INSTALLED)
	@command -v nginx >/dev/null || apt-get install -y -qq nginx
	$(PY) benchmarks/upload.py --repeats 3

bench-tiles: $(INSTALLED)
	@command -v nginx >/dev/null && command -v wrk >/dev/null || apt-get install -y -qq nginx wrk
	$(PY) benchmarks/tiles.py --size 8000 --seconds 10

bench-quality: $(INSTALLED)
	$(PY) benchmarks/quality_inference.py --repeats 3

# needs PostgreSQL and Redis (BENCH_POSTGRES_URL, BENCH_REDIS_URL); pass --skip-services to measure the embedded default only
bench-e2e: $(INSTALLED)
	$(PY) benchmarks/end_to_end.py --repeats 5

bench-dermoscopy: $(INSTALLED)
	$(PY) benchmarks/dermoscopy_inference.py

## train-quality: regenerate the phantom sets and retrain + evaluate the shipped quality model (CPU: ~45 min)
train-quality: $(INSTALLED)
	./scripts/train_quality.sh

## train-lesion: retrain the dermoscopy lesion segmentation on HAM10000 train, measure on val, export ONNX (CPU: ~25 min)
HAM10000 ?= ../shared/datasets/ham10000
train-lesion: $(INSTALLED)
	$(PY) -m inference train-lesion --data $(HAM10000) --epochs 3 --threads 2
	$(PY) -m inference export-onnx --name dermoscopy-lesion-segmentation

## train-classifiers: diagnosis B (image + location), body region and diagnosis A (image) on HAM10000, ONNX exports, then A vs B on val (this 2-core CPU: ~3.5 h each; an H100: minutes)
train-classifiers: $(INSTALLED)
	for task in diagnosis-location body-region diagnosis; do \
	  $(PY) -m inference train-classifier --task $$task --data $(HAM10000) || exit 1; done
	for name in dermoscopy-diagnosis-location body-region dermoscopy-diagnosis; do \
	  $(PY) -m inference export-onnx --name $$name || exit 1; done
	$(PY) -m inference compare-diagnosis --data $(HAM10000)

## evaluate-dermoscopy: every shipped dermoscopy model on IMAGES (masks below it, if any) and CSV (image_id, dx, localization), goals checked in OUT/summary.json (~1.5 min per 1,000 images on this CPU)
OUT ?= var/evaluation
evaluate-dermoscopy: $(INSTALLED)
	@test -n "$(IMAGES)" -a -n "$(CSV)" || { echo "usage: make evaluate-dermoscopy IMAGES=FOLDER CSV=FILE [OUT=var/evaluation]"; exit 2; }
	$(PY) -m inference evaluate-dermoscopy --images $(IMAGES) --csv $(CSV) --out $(OUT)

## schema: write the OpenAPI 3 schema to var/openapi.yaml
schema: $(INSTALLED)
	mkdir -p var && $(PY) manage.py spectacular --validate --file var/openapi.yaml

clean:
	rm -rf var/test var/test-reports .pytest_cache
