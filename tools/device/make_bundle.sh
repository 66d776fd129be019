#!/bin/bash
# Build the bundle a GPU check needs on a machine with no package index (the lent CUDA
# machine): onnxruntime-gpu unpacked, the wheels the project needs beyond that machine's
# image (PyAV, LiteRT, tflite2onnx), and the model cache; compressed and cut into parts
# small enough for one transfer each (.dev0 .. .devN in the repo root, git-ignored).
#
#   tools/device/make_bundle.sh [PART_MB]      # default 55 (MiB)
#
# Then move .devK/part.K to /root/parts on the machine, one call each, and run
# tools/device/gpu_check.sh there with the last part carried (see that script).
set -euo pipefail
command -v zstd >/dev/null || { echo "make_bundle.sh needs zstd" >&2; exit 1; }
ROOT=$(git rev-parse --show-toplevel)
PART_MB=${1:-55}
WORK=$(mktemp -d)
PY="python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $WORK/dl"
$PY onnxruntime-gpu av ai-edge-litert tflite2onnx tflite backports.strenum
mkdir -p "$WORK/bundle/site" "$WORK/bundle/wheels" "$WORK/bundle/cache/mediagraph/models"
(cd "$WORK/bundle/site" && unzip -q "$WORK"/dl/onnxruntime_gpu-*.whl)
mv "$WORK"/dl/*.whl "$WORK/bundle/wheels/" && rm "$WORK"/bundle/wheels/onnxruntime_gpu-*.whl
CACHE=${MEDIAGRAPH_MODELS:-$HOME/.cache/mediagraph/models}
for name in face_detection_short_range face_detection_full_range_sparse selfie_segmentation \
            palm_detection_lite hand_landmark_lite pose_detection face_landmark; do
  cp "$CACHE/$name.tflite" "$WORK/bundle/cache/mediagraph/models/"
done
cp -r "$CACHE/mediapipe_graphs" "$CACHE/silero_vad.onnx" "$WORK/bundle/cache/mediagraph/models/"
cp -r "$(dirname "$CACHE")/samples" "$WORK/bundle/cache/mediagraph/" 2>/dev/null || true
tar -C "$WORK/bundle" -cf - . | zstd -q -19 -T0 --long=27 -o "$WORK/bundle.tar.zst"
grep -qx '/.dev\*/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.dev*/' >> "$ROOT/.git/info/exclude"
rm -rf "$ROOT"/.dev[0-9]*
split -b "${PART_MB}M" -d -a 1 "$WORK/bundle.tar.zst" "$WORK/part."
for part in "$WORK"/part.*; do
  k=${part##*.}
  mkdir -p "$ROOT/.dev$k" && mv "$part" "$ROOT/.dev$k/"
done
last=$(ls -d "$ROOT"/.dev[0-9]* | sort -V | tail -1)
cp "$ROOT/tools/device/gpu_check.sh" "$last/"
mkdir -p "$last/zbin" && cp "$(command -v zstd)" "$last/zbin/"
for lib in $(ldd "$(command -v zstd)" | awk '/=>/ {print $3}' | grep -E 'libz|lzma|lz4|zstd'); do
  cp -L "$lib" "$last/zbin/"
done
ls -la "$ROOT"/.dev[0-9]*
rm -rf "$WORK"
