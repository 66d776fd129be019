"""The subgraph configs compiled into a MediaPipe wheel, as text: run by a python that has
`mediapipe` installed (a separate venv; this script never imports mediagraph).

MediaPipe builds every `.pbtxt` subgraph into its binary as a serialized
CalculatorGraphConfig (Bazel's `mediapipe_simple_subgraph`), so the wheel itself says what
0.10.14's `HandLandmarksFromPoseCpu` or `FaceTracking` is, whatever the newer sources say.
This finds them in `_framework_bindings*.so` (a message whose `type` field names a
subgraph, parsed backwards to its first byte and checked by re-serializing it) and prints
JSON {type: text config}; registered names whose config carries another `type:` (MediaPipe's
face_detection_short_range_by_roi_cpu.pbtxt says FaceDetectionShortRangeCpu) keep the
config's own, with every variant listed:

    /work/mpvenv/bin/python tools/mediapipe_embedded_graphs.py [TYPE ...]
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import re
import sys

_TYPE_FIELD = re.compile(rb"\xa2\x01([\x02-\x7f])([A-Z][A-Za-z0-9_]+)")
_TRAILING = (b"\xca\x3e", b"\xd2\x3e")  # options (1001), graph_options (1002)
_LOOKBACK = 60_000


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _register_option_protos() -> None:
    import mediapipe

    root = os.path.dirname(mediapipe.__file__)
    for path in glob.glob(os.path.join(root, "**", "*_pb2.py"), recursive=True):
        module = "mediapipe" + path[len(root):-3].replace(os.sep, ".")
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a few pb2 modules need optional deps
            pass


def embedded_configs() -> dict[str, list[str]]:
    import mediapipe
    from google.protobuf import text_format
    from google.protobuf.unknown_fields import UnknownFieldSet
    from mediapipe.framework import calculator_pb2

    _register_option_protos()
    (library,) = glob.glob(os.path.join(os.path.dirname(mediapipe.__file__), "python",
                                        "_framework_bindings*.so"))
    data = open(library, "rb").read()
    found: dict[str, list[str]] = {}
    for match in _TYPE_FIELD.finditer(data):
        length = match.group(1)[0]
        name = match.group(2)
        if len(name) < length:
            continue
        end = match.start() + 3 + length
        while data[end:end + 2] in _TRAILING:
            size, after = _varint(data, end + 2)
            end = after + size
        best = None
        for start in range(match.start() - 1, max(0, match.start() - _LOOKBACK), -1):
            if data[start] != 0x0A:  # a config starts with its first node (field 1)
                continue
            config = calculator_pb2.CalculatorGraphConfig()
            try:
                config.ParseFromString(data[start:end])
            except Exception:  # noqa: BLE001 - most starting points are not a message
                continue
            if (config.SerializeToString() == data[start:end]
                    and len(UnknownFieldSet(config)) == 0
                    and all(len(UnknownFieldSet(node)) == 0 for node in config.node)):
                best = config
        if best is not None:
            text = text_format.MessageToString(best)
            variants = found.setdefault(best.type, [])
            if text not in variants:
                variants.append(text)
    return found


def main() -> None:
    configs = embedded_configs()
    wanted = sys.argv[1:]
    if wanted:
        configs = {name: configs.get(name, []) for name in wanted}
    print(json.dumps(configs))


if __name__ == "__main__":
    main()
