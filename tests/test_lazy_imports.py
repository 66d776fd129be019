"""What a process loads: the core imports only numpy and protobuf; a graph loads the
libraries of the nodes it runs, when it runs them, and nothing else.

Each check runs in a fresh interpreter (this one has imported everything by now) and lists
the top-level packages loaded from site-packages. Every package counts towards a process's
memory (networkx alone is ~370 modules and ~19 MiB), so one imported eagerly is a
regression even where it is a dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mediagraph import models

ROOT = Path(__file__).resolve().parents[1]
FACE_VIDEO = ROOT / "graphs" / "face_detection_video.pbtxt"

# Loaded from site-packages without being a library of ours: the editable install's
# finder and setuptools' distutils shim.
_PLUMBING = ("__editable__", "_distutils_hack", "mediagraph")

_LOADED = """
import json, os, sys, sysconfig
roots = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
def loaded():
    names = set()
    for name, module in list(sys.modules.items()):
        path = os.path.realpath(getattr(module, "__file__", None) or "")
        if any(path.startswith(root + os.sep) for root in roots):
            names.add(name.split(".")[0])
    return sorted(n for n in names if not n.startswith(PLUMBING))
PLUMBING = %r
steps = {}
""" % (_PLUMBING,)


def _loaded_after(script: str, tmp_path: Path) -> dict[str, list[str]]:
    code = _LOADED + script + "\nprint(json.dumps(steps))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_mediagraph_and_building_the_face_graph_load_only_numpy_and_protobuf(
        tmp_path):
    steps = _loaded_after(f"""
import mediagraph as mg
steps["import"] = loaded()
graph = mg.Graph({str(FACE_VIDEO)!r})
steps["Graph()"] = loaded()
""", tmp_path)
    assert steps == {"import": ["google", "numpy"], "Graph()": ["google", "numpy"]}


def test_the_dag_loads_networkx_when_asked_for(tmp_path):
    steps = _loaded_after(f"""
import mediagraph as mg
graph = mg.Graph({str(FACE_VIDEO)!r})
steps["Graph()"] = loaded()
graph.dag
steps["dag"] = loaded()
""", tmp_path)
    assert "networkx" not in steps["Graph()"] and "networkx" in steps["dag"]


def test_running_the_face_video_graph_loads_only_its_nodes_libraries(tmp_path):
    try:
        models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    pytest.importorskip("ai_edge_litert")
    from mediagraph.testing import samples

    clip = samples.make_face_video(tmp_path / "face.mp4", frames=6, audio=False)
    steps = _loaded_after(f"""
import mediagraph as mg
graph = mg.Graph({str(FACE_VIDEO)!r})
graph.run(side_packets={{"input_video_path": {str(clip)!r},
                         "output_video_path": {str(tmp_path / "out.mp4")!r}}}, timeout=60)
steps["run"] = loaded()
""", tmp_path)
    # PyAV decodes and encodes, OpenCV samples the tensor and draws, LiteRT infers.
    assert steps["run"] == ["ai_edge_litert", "av", "cv2", "google", "numpy"]
