#!/bin/bash
# GPU check on a lent CUDA machine with no package index (see make_bundle.sh): unpack the
# bundle whose parts are in /root/parts, install onnxruntime-gpu over the image's CPU
# onnxruntime and the carried wheels, then run the gpu tests, the per-model latency
# benchmark and the face detection benchmark. Results land in $OUT.
#
#   bash .devN/gpu_check.sh        (from the repo root, .devN being the last part's folder)
set -u
REPO=$PWD
export PYTHONUNBUFFERED=1
LAST=$(dirname "$0"); mv "$LAST"/part.* /root/parts/ 2>/dev/null
mkdir -p /root/dev && cd /root/dev
Z=zstd; command -v zstd >/dev/null || Z="env LD_LIBRARY_PATH=$REPO/$LAST/zbin $REPO/$LAST/zbin/zstd"
cat /root/parts/part.* | $Z -d --long=27 | tar -x || { echo "unpack failed"; exit 3; }
PY=python3
$PY -m pip uninstall -y -q onnxruntime 2>&1 | tail -1
SP=$($PY -c "import sysconfig;print(sysconfig.get_paths()['purelib'])")
cp -r site/* "$SP"/
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site wheels/*.whl 2>&1 | tail -2
export PYTHONPATH=/tmp/site:$REPO
mkdir -p ~/.cache && cp -r cache/mediagraph ~/.cache/
cd "$REPO"
nvidia-smi -L; lscpu | grep -E "^(Thread|Core|Socket|Model name)"
timeout 200 $PY -m pytest -p no:cacheprovider -q -s -m gpu -rs tests/graphs/test_gpu.py tests/calculators/inference/test_inference_calculator.py 2>&1 | grep -v "^INFO" | tee $OUT/gpu_tests.log | tail -30
timeout 200 $PY benchmarks/bench_inference.py --calls 300 2>&1 | grep -v "^INFO" | tee $OUT/bench_inference.log
timeout 150 $PY benchmarks/bench_face_detection.py --repeats 3 --delegate cpu,gpu 2>&1 | grep -v "^INFO\|LIBNATIVE" | tee $OUT/bench16.log | head -12
