# comfylock developer entry points. Each target installs what it needs itself.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench schemas tables node-table tools wheel clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# System tools the suite and benchmarks exercise (aria2c, b3sum); best effort, never fatal.
tools:
	@bash tools/ensure-tools.sh

demo: $(STAMP) tools
	$(PY) tools/demo.py

test: $(STAMP) tools
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools bench
	$(VENV)/bin/ruff format --check src tests tools bench

bench: $(STAMP)
	@bash tools/ensure-tools.sh --bench
	$(PY) bench/run.py

# A wheel to install elsewhere (comfylock is not on a package index): dist/comfylock-*.whl
wheel: $(STAMP)
	$(PY) -m pip wheel -q --no-deps -w dist .

schemas: $(STAMP)
	$(PY) tools/gen_schemas.py

tables: $(STAMP)
	$(PY) -m tools.gen_tables

# The custom-node table from pack snapshots (MIRROR: a directory of <owner>+<repo>/repo git dirs;
# tools/nodetable/README.md). ARGS: more options, e.g. ARGS="--only kijai/ComfyUI-KJNodes".
MIRROR ?= ../.mirror
node-table: $(STAMP)
	$(PY) -m tools.nodetable.generate --mirror $(MIRROR) $(ARGS)

clean:
	rm -rf $(VENV) demo-out .bench dist
