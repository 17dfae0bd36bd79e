# The two commands a user needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# the fast path's station loop compiled by mypyc (a dev dependency), rebuilt when its source changes
FASTSTAMP := $(VENV)/.built-fast

.PHONY: demo test test-quick test-compiled golden bench lint clean fast

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (or run: make PY=python3 ...)"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m compileall -q src >/dev/null  # an editable install ships no bytecode
	@touch $@

$(DEVSTAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q src >/dev/null
	@touch $@ $(STAMP)

# skips with a one-line message when mypyc or a C compiler is missing (pure Python then)
$(FASTSTAMP): $(DEVSTAMP) src/cloudtwin/engine/station.py tools/build_fast.py
	$(BIN)/python tools/build_fast.py
	@touch $@

# opt-in: the engine, request path and services compiled by mypyc into src/cloudtwin/_compiled/
# (~6 minutes on 2 cores; nothing to do while current); used while current, pure Python again after any edit until rebuilt
fast: $(FASTSTAMP)
	$(BIN)/python tools/build_fast.py --layer

demo: $(STAMP)
	mkdir -p out
	$(BIN)/cloudtwin run simple-web-app --json out/simple-web-app.json --report out/simple-web-app.html

test: $(FASTSTAMP)
	$(BIN)/python -m pytest

# the whole suite again on the compiled layer (CI runs it after make test): the same results,
# golden included; the python_only tests (they replace methods compiled code calls directly) skip
test-compiled: fast
	@$(BIN)/python -c "import sys, cloudtwin.compiled as c; print('compiled layer:', c.state()); sys.exit(not c.active())"
	$(BIN)/python -m pytest

# the loop while developing: everything but the long statistical runs and the golden results
test-quick: $(FASTSTAMP)
	$(BIN)/python -m pytest -m "not slow"

# rewrite tests/golden/ after a change that moves a number on purpose (say why in the commit)
golden: $(STAMP)
	$(BIN)/python tools/golden.py

bench: $(FASTSTAMP)
	$(BIN)/python -m compileall -q src >/dev/null  # cached bytecode, as pip gives the baselines
	$(BIN)/python benchmarks/run_mmc.py --customers 1000000 --repeat 3 --min-ratio 7
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/messaging.py
	$(BIN)/python benchmarks/pipeline.py --scale 4
	$(BIN)/python benchmarks/blueprints.py --min-ratio 0.15
	$(BIN)/python benchmarks/opcodes.py --seconds 60
	$(BIN)/python benchmarks/attributes.py
	$(BIN)/python benchmarks/fluid.py

lint: $(DEVSTAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info
	rm -f src/cloudtwin/engine/station*.so src/cloudtwin/engine/station*.pyd
	rm -rf src/cloudtwin/_compiled src/cloudtwin/_compiled.new
