# The README's two commands: `make demo` runs the main job, `make test` runs the tests.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-all-test

.PHONY: demo test install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP)

# The main job: make a sample video (motion + tone, generated here, never downloaded),
# then run the edge-detection graph over it with a progress bar.
demo: $(STAMP)
	$(PY) -m mediagraph.samples samples/demo.mp4
	mkdir -p out
	$(PY) -m mediagraph run graphs/edge_detection.pbtxt --input samples/demo.mp4 --output out/demo_edges.mp4

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis
