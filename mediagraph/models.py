"""The model cache: where model files live and how a config's `model_path` resolves.

Models are never downloaded from a model hub at run time. `mediagraph models fetch`
takes MediaPipe's `.tflite` files out of the `mediapipe==0.10.14` wheel and Silero VAD's
`.onnx` out of the `silero-vad` wheel (both from PyPI, fetched with `pip download
--no-deps`, never installed) into the cache folder: `$MEDIAGRAPH_MODELS`, else
`~/.cache/mediagraph/models`.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MEDIAGRAPH_MODELS"


def cache_dir() -> Path:
    """The model cache folder (not created here)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "mediagraph" / "models"


def resolve(model_path: str | os.PathLike[str]) -> Path:
    """An existing file for `model_path`: as given, else by its name in the cache.

    MediaPipe configs name models by their path inside MediaPipe's source tree
    (`mediapipe/modules/face_detection/face_detection_short_range.tflite`); the file
    name is what the cache knows them by.
    """
    path = Path(model_path).expanduser()
    if path.is_file():
        return path
    cached = cache_dir() / path.name
    if cached.is_file():
        return cached
    raise FileNotFoundError(
        f"model '{model_path}' not found as a file or in the model cache {cache_dir()}; "
        "run `mediagraph models fetch` (or set $MEDIAGRAPH_MODELS)")
