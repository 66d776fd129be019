"""Run every inference node of a graph on one device, whatever its config says.

Configs name a delegate per node, often deep inside subgraphs (MediaPipe's
`FaceDetectionShortRangeCpu` says `xnnpack {}`). To try a graph on the accelerator at
hand, `Graph(config, inference_delegate="gpu")` (CLI: `--delegate gpu`) rewrites the
`delegate` of every `InferenceCalculator` after subgraph expansion, leaving the other
options (model, threads, `allow_fallback`) as they were.
"""

from __future__ import annotations

from typing import Any

from mediagraph import registry
from mediagraph.config import pool
from mediagraph.config.options_access import find_node_options, set_node_options
from mediagraph.errors import GraphConfigError

OPTIONS = "mediapipe.InferenceCalculatorOptions"
# What users type -> the delegate member it sets ("cpu" is MediaPipe's xnnpack).
DELEGATES = {"cpu": "xnnpack", "xnnpack": "xnnpack", "tflite": "tflite", "gpu": "gpu",
             "dsp": "dsp", "hexagon": "dsp", "nnapi": "nnapi", "auto": "auto",
             "openvino": "openvino", "mnn": "mnn", "ncnn": "ncnn", "executorch": "executorch",
             "coreml": "coreml"}


def override_inference_delegate(config: Any, delegate: str, *, source: str | None = None) -> int:
    """Set `delegate` on every InferenceCalculator node of the expanded `config`.

    Returns how many nodes changed; a graph without inference nodes is an error, since
    the caller asked for a device that nothing would use.
    """
    member = DELEGATES.get(delegate.lower())
    if member is None:
        raise GraphConfigError(f"unknown inference delegate {delegate!r}; use one of "
                               f"{', '.join(DELEGATES)}", source=source)
    nodes = [node for node in config.node if node.calculator == "InferenceCalculator"]
    if not nodes or pool.find_message(OPTIONS) is None:
        raise GraphConfigError(f"the graph has no InferenceCalculator node to run on "
                               f"{delegate}", source=source)
    for node in nodes:
        options = find_node_options(node, OPTIONS) or pool.message_class(OPTIONS)()
        options.delegate.Clear()
        getattr(options.delegate, member).SetInParent()
        options.ClearField("use_gpu")
        options.ClearField("use_nnapi")
        set_node_options(node, options)
    return len(nodes)


registry.register_rewrite("inference_delegate", override_inference_delegate)
