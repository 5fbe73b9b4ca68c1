# Two commands a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean-demo

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check predictor tests experiments
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/predictor validate data/demo
	$(BIN)/predictor-train
	$(BIN)/predictor predict --model outputs/demo/model --input data/demo --output outputs/demo/predictions.csv --overwrite
	@echo "MLflow runs: sqlite:///mlruns.db  (open with: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns.db)"
	@echo "Predictions: outputs/demo/predictions.csv"

lint: $(STAMP)
	$(BIN)/ruff check predictor tests experiments

bench: $(STAMP)
	$(BIN)/predictor bench simulate
