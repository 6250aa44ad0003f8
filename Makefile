# Two commands for a fresh machine:  `make demo` (main job on knowledge/)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp's native build emits AMX instructions that crash some CPUs (SIGILL); build portable AVX2, plus
# AVX512 only where this CPU has it (an AVX512 build dies with SIGILL on AVX2-only machines, seen here).
HAS_AVX512 := $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
HAS_VNNI := $(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=$(HAS_AVX512) -DGGML_AVX512_VNNI=$(HAS_VNNI)
export CMAKE_ARGS
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
EXTRAS ?= dev

.PHONY: install demo test test-fast bench bench-finetune clean

$(VENV)/.installed-$(EXTRAS): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/.installed-$(EXTRAS)

demo: install
	$(PY) examples/demo.py

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) -m pip install -c constraints.txt -e '.[bench,finetune]'
	$(PY) benchmarks/run_all.py

bench-finetune: install
	$(PY) -m pip install -c constraints.txt -e '.[bench,finetune]'
	$(PY) benchmarks/run_all.py --finetune

clean:
	rm -rf $(VENV) build *.egg-info
