"""The installed wheel is the product: it runs its own graphs with no checkout on disk.

One module-scoped fixture builds the wheel from this tree, installs it (with its
dependencies, from pip's cache where they are) into a fresh venv, and installs a small
plugin package beside it. Every command then runs from an empty folder, with the
repository nowhere on `sys.path`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from mediagraph import models
from mediagraph.testing.processes import stop

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(900)

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "mg-plugin-demo"
version = "0.1"

[project.entry-points."mediagraph.calculators"]
demo = "mg_plugin_demo"

[project.entry-points."mediagraph.graphs"]
demo = "mg_plugin_demo.graphs"

[tool.setuptools]
packages = ["mg_plugin_demo", "mg_plugin_demo.graphs"]

[tool.setuptools.package-data]
"mg_plugin_demo.graphs" = ["*.pbtxt"]
"""

PLUGIN_MODULE = '''
import mediagraph as mg


class PluginNegateCalculator(mg.Calculator):
    """Negate a number."""
    value = mg.Input(float)
    out = mg.Output(float, tag="VALUE")

    def process(self, cc):
        cc.send(self.out, -cc.get(self.value))
'''

PLUGIN_SUBGRAPH = """
# Negate twice: a subgraph shipped by a plugin, found by its type.
type: "PluginDoubleNegate"
input_stream: "VALUE:in"
output_stream: "VALUE:out"
node { calculator: "PluginNegateCalculator" input_stream: "VALUE:in" output_stream: "VALUE:mid" }
node { calculator: "PluginNegateCalculator" input_stream: "VALUE:mid" output_stream: "VALUE:out" }
"""

USE_PLUGIN = """
import sys
import mediagraph as mg
assert "mediagraph" in sys.modules and not any("work" in p for p in sys.path[1:2])
graph = mg.Graph('input_stream: "x" node { calculator: "PluginDoubleNegate" '
                 'input_stream: "VALUE:x" output_stream: "VALUE:y" } '
                 'node { calculator: "PluginNegateCalculator" input_stream: "VALUE:y" '
                 'output_stream: "VALUE:z" }')
out = graph.run({"x": [(1.5, 0), (-2.0, 1)]}, timeout=30)
print([p.value for p in out["z"]])
"""


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
         cwd=base)
    wheel = next(dist.glob("mediagraph-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=base)
    plugin = base / "plugin"
    (plugin / "mg_plugin_demo" / "graphs").mkdir(parents=True)
    (plugin / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (plugin / "mg_plugin_demo" / "__init__.py").write_text(PLUGIN_MODULE)
    (plugin / "mg_plugin_demo" / "graphs" / "__init__.py").write_text("")
    (plugin / "mg_plugin_demo" / "graphs" / "double_negate.pbtxt").write_text(PLUGIN_SUBGRAPH)
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps",
          str(plugin)], cwd=base)
    empty = base / "empty"
    empty.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "empty": empty}


def test_the_wheel_installs_no_generic_top_level_package(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = wheel.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"mediagraph"}
    assert "mediagraph/graphs/face_detection_video.pbtxt" in names
    assert "mediagraph/calculators/inference/inference_calculator.py" in names
    assert "mediagraph/testing/samples.py" in names
    site = next(installed["venv"].glob("lib/python*/site-packages"))
    assert not (site / "calculators").exists() and not (site / "graphs").exists()


def test_bundled_graphs_are_listed_with_descriptions(installed):
    out = _run([str(installed["venv"] / "bin" / "mediagraph"), "graphs", "--all"],
               cwd=installed["empty"]).stdout
    assert "face_detection_video" in out and "Face detection on a video file" in out
    assert "FaceDetectionShortRangeCpu" in out  # subgraphs, by type
    assert "PluginDoubleNegate" in out  # a plugin's graphs are listed the same way


def test_a_plugin_is_found_through_the_entry_point_groups(installed):
    out = _run([str(installed["python"]), "-c", USE_PLUGIN], cwd=installed["empty"]).stdout
    assert out.strip() == "[-1.5, 2.0]"


def test_a_bundled_graph_runs_by_name_from_an_empty_folder(installed):
    if not models.resolve("face_detection_short_range.tflite").is_file():
        pytest.skip("models not fetched (mediagraph models fetch)")
    folder = installed["empty"]
    python, mediagraph = installed["python"], installed["venv"] / "bin" / "mediagraph"
    _run([str(python), "-m", "mediagraph.testing.samples", "in.mp4", "--face", "--frames", "20"],
         cwd=folder)
    result = _run([str(mediagraph), "run", "face_detection_video", "--input", "in.mp4",
                   "--output", "out.mp4", "--quiet"], cwd=folder)
    assert (folder / "out.mp4").stat().st_size > 1000, result.stderr
    probe = textwrap.dedent("""
        import av
        with av.open("out.mp4") as c:
            print(sum(1 for _ in c.decode(video=0)))
    """)
    assert _run([str(python), "-c", probe], cwd=folder).stdout.strip() == "20"


RUNNING_MEDIAPIPE_GRAPHS = ("face_detection_short_range_cpu", "face_detection_full_range_cpu",
                            "selfie_segmentation_cpu", "hand_landmark_tracking_cpu")


def test_mediapipes_own_binarypb_graphs_validate(installed):
    shipped = [models.mediapipe_graph(f"{name}.binarypb") for name in RUNNING_MEDIAPIPE_GRAPHS]
    shipped = [path for path in shipped if path.is_file()]
    if not shipped:
        pytest.skip("MediaPipe's graphs not fetched (mediagraph models fetch)")
    out = _run([str(installed["venv"] / "bin" / "mediagraph"), "validate", *map(str, shipped)],
               cwd=installed["empty"]).stdout
    assert out.count("ok ") == len(shipped), out


SERVE_PROBE = """
import json, sys, time, urllib.request
url = sys.argv[1]
for _ in range(300):
    try:
        page = urllib.request.urlopen(url + "/", timeout=2).read().decode()
        break
    except OSError:
        time.sleep(0.2)
script = urllib.request.urlopen(url + "/static/page.js", timeout=10).read().decode()
image = open("face.jpg", "rb").read()
request = urllib.request.Request(url + "/process", data=image, method="POST")
answer = json.load(urllib.request.urlopen(request, timeout=60))
print("getUserMedia" in script, "page.js" in page, len(answer["face_detections"][0]))
"""


def test_serve_runs_from_the_wheel_with_its_page_as_package_data(installed):
    if not models.resolve("face_detection_short_range.tflite").is_file():
        pytest.skip("models not fetched (mediagraph models fetch)")
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = wheel.namelist()
    assert {"mediagraph/serve/static/index.html", "mediagraph/serve/static/page.js",
            "mediagraph/graphs/face_detection_live.pbtxt"} <= set(names)
    folder, python = installed["empty"], installed["python"]
    mediagraph = installed["venv"] / "bin" / "mediagraph"
    site = next(installed["venv"].glob("lib/python*/site-packages"))
    if not (site / "aiohttp").exists():  # without the extra, the command says what to install
        result = subprocess.run([str(mediagraph), "serve", "face_detection_live"], cwd=folder,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "pip install 'mediagraph[serve]'" in result.stderr
    _run([str(python), "-m", "pip", "install", "-q", f"{installed['wheel']}[serve]"], cwd=folder)
    probe = textwrap.dedent("""
        import cv2
        from mediagraph.testing.samples import face_frame_fn
        cv2.imwrite("face.jpg", cv2.cvtColor(face_frame_fn()(0, 1, 640, 480), cv2.COLOR_RGB2BGR))
    """)
    _run([str(python), "-c", probe], cwd=folder)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(mediagraph), "serve", "face_detection_live", "--port",
                               str(port)], cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        out = _run([str(python), "-c", SERVE_PROBE, f"http://127.0.0.1:{port}"], cwd=folder,
                   timeout=120).stdout
    finally:
        stop(server)
    assert out.split() == ["True", "True", "1"], out
