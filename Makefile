# Two entry points for a fresh machine (see README.md):
#   make demo   install, build the demo site from content/, serve it on http://127.0.0.1:8000/
#   make test   install everything the tests need (Debian chromium included) and run every test
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: install install-test install-bench system-deps demo build lint test test-fast bench bench-pagefind fuzz clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python system-deps
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --silent

# What the tests need, and Pagefind for bench/pagefind.py (docs/search.md, "Against Pagefind").
install-bench: install-test
	$(BIN)/pip install --quiet -e '.[test,bench]'

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here);
# a 信用报告 saved as PDF is read back with poppler's pdftotext, and its Chinese text needs a
# Chinese font (WenQuanYi Micro Hei, one of those site.css asks for).
system-deps:
	@pkgs=; \
	command -v chromium >/dev/null || pkgs="$$pkgs chromium"; \
	command -v rsync >/dev/null || pkgs="$$pkgs rsync"; \
	command -v curl >/dev/null || pkgs="$$pkgs curl"; \
	command -v node >/dev/null || pkgs="$$pkgs nodejs"; \
	command -v npm >/dev/null || pkgs="$$pkgs npm"; \
	command -v pdftotext >/dev/null || pkgs="$$pkgs poppler-utils"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || pkgs="$$pkgs fonts-wqy-microhei"; \
	if [ -n "$$pkgs" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian packages:$$pkgs" >&2; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$pkgs >/dev/null; \
	fi

build: install
	$(BIN)/disclose build

demo: build
	$(BIN)/disclose serve --no-build --port $(PORT)

# Format, lint and types (settings and the mypy level in pyproject.toml); test and test-fast run
# it first. Without reinstalling: make -o install-test lint
LINT_PATHS := generator tests bench docs/screenshots.py
lint: install-test
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy generator

# pytest exits 5 when it collected no tests: that must fail, never pass silently.
# The quick loop while changing code: the unit tests without the slow and browser ones (~1 min).
test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not browser" -q $(PYTEST_ARGS)

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

bench: install-test
	$(BIN)/python bench/site.py $(BENCH_ARGS)

# Our search against Pagefind on the record pages of a bench site (docs/search.md, "Against
# Pagefind"); builds the site first when bench/runs/ does not have it.
PAGEFIND_RECORDS ?= 10000
PAGEFIND_ARGS ?= --per-type 12
bench-pagefind: install-bench
	test -d bench/runs/site-$(PAGEFIND_RECORDS)/output || \
	  $(BIN)/python bench/site.py --records $(PAGEFIND_RECORDS) --queries 0 --keep >/dev/null
	$(BIN)/python bench/pagefind.py bench/runs/site-$(PAGEFIND_RECORDS)/output $(PAGEFIND_ARGS)

# The fuzz suite's longer run (docs/benchmarks.md, "Fuzzing"); `make test` runs 300 examples.
FUZZ_EXAMPLES ?= 10000
fuzz: install-test
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics

clean:
	rm -rf output .output.disclose-manifest .cache reports .pytest_cache .mypy_cache .ruff_cache
