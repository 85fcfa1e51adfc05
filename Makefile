# The two set-up commands: both create .venv from the machine's python3 when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= demo_output

.PHONY: demo test lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/stfmr-lab demo --out $(OUT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

test: $(VENV)/.installed-test lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

screenshots: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py --out docs --adaptive --field-map

clean:
	rm -rf $(VENV) build *.egg-info demo_output
