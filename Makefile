# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench readme docs clean chromium

# The project with its test tools, then the optional face extra in a step of its own: where
# dlib has no wheel for this Python and system, only the presenter checks are missing (PRS000).
$(STAMP): pyproject.toml
	$(PYTHON) scripts/dev.py install

# Headless Chromium (Debian's package) for the browser tests and the demo's screenshot.
chromium:
	@sh scripts/ensure_chromium.sh

demo: $(STAMP) chromium
	$(BIN)/python sample_media/generate.py
	@echo "== preflight check sample_media/avatar.toml (expected: passes, exit 0)"
	$(BIN)/preflight check sample_media/avatar.toml --contact-sheet sample_media/out/contact-sheet.png
	@echo "== contact sheet of the sampled frames: sample_media/out/contact-sheet.png"
	@echo "== preflight check sample_media/broken.toml (expected: fails, exit 1)"
	@$(BIN)/preflight check sample_media/broken.toml \
	  --contact-sheet sample_media/out/contact-sheet-broken.png; rc=$$?; \
	  if [ $$rc -ne 1 ]; then echo "expected exit 1 from the broken sample, got $$rc"; exit 1; fi
	@echo "== preflight check sample_media/broken.toml --format html -o sample_media/out/report.html"
	@$(BIN)/preflight check sample_media/broken.toml --format html \
	  -o sample_media/out/report.html; rc=$$?; \
	  if [ $$rc -ne 1 ]; then echo "expected exit 1 from the broken sample, got $$rc"; exit 1; fi
	@echo "== screenshot of the HTML report by headless Chromium: sample_media/out/report.png"
	$(BIN)/python scripts/screenshot.py sample_media/out/report.html sample_media/out/report.png --max-height 3400
	@echo "== preflight package sample_media/avatar.toml --out sample_media/out/pkg"
	$(BIN)/preflight package sample_media/avatar.toml --out sample_media/out/pkg --parts 3
	@echo "== preflight submit sample_media/avatar.toml --sandbox --wait (local stand-in service)"
	$(BIN)/preflight submit sample_media/avatar.toml --sandbox --wait \
	  --package-dir sample_media/out/pkg --parts 3

# Bytecode goes under .venv, so a test run leaves the tree as it was (git status --ignored).
# Tests run in parallel (pytest-xdist, one worker per core); static checks are `make lint`.
test: $(STAMP) chromium
	PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(BIN)/python -m pytest -q -n auto

# Static checks: ruff and mypy --strict (CI runs `make lint` and `make test`). No caches left behind.
lint: $(STAMP)
	$(BIN)/ruff check --no-cache preflight tests sample_media bench scripts
	$(BIN)/mypy --no-incremental --cache-dir $(if $(filter Windows_NT,$(OS)),nul,/dev/null)

bench: $(STAMP)
	$(BIN)/python bench/run.py

readme: docs

# Generated docs: docs/rules.md and docs/constraints.md from the rule registry, and the
# pictures in docs/images/ drawn from the demo's sample by the demo's own commands.
docs: $(STAMP) chromium
	$(BIN)/python sample_media/generate.py
	$(BIN)/python scripts/update_docs.py --images

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache sample_media/media dist build
