# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
# `make package` builds the PyInstaller app into $(DIST)/gpen-desktop (~6 GB with CUDA torch);
# `make package-test` builds it and runs the smoke tests of tests/package on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGE_STAMP := $(VENV)/.installed-package
DIST ?= dist
PACKAGE_BUILD ?= build/pyinstaller

.PHONY: run test lint format clean-venv package package-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check gpen_desktop tests main.py
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen COVERAGE_FILE=$(CURDIR)/.coverage \
		$(BIN)/python -m pytest -q --cov --cov-report=term $(PYTEST_ARGS)

$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	touch $(PACKAGE_STAMP)

package: $(PACKAGE_STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath $(DIST) \
		--workpath $(PACKAGE_BUILD) packaging/gpen-desktop.spec

package-test: package
	GPEN_PACKAGE_DIST=$(abspath $(DIST))/gpen-desktop QT_QPA_PLATFORM=offscreen \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/package $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format gpen_desktop tests main.py
	$(BIN)/ruff check --fix gpen_desktop tests main.py

clean-venv:
	rm -rf $(VENV)
