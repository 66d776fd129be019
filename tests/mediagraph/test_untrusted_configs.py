"""Loading a config never runs code unless the caller allows it.

A probe module on `sys.path` leaves a file behind when it is imported; every config below
names it somewhere (a dotted calculator path, a model path, an option, a side packet). Only
`allow_imports=[its package]` (CLI `--allow-import`) may import it.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediagraph as mg
from mediagraph import registry
from mediagraph.cli import main
from mediagraph.errors import CalculatorError, UnknownCalculatorError
from tests.mediagraph.config.test_fuzz import SEEDS, TOKENS, edited, edited_binary

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
]

PROBE = "some_module_that_would_run_code"
PROBE_CLASS = f"{PROBE}.UntrustedProbeCalculator"
PROBE_SOURCE = '''
from pathlib import Path

import mediagraph as mg

Path(__file__).with_name("imported.txt").write_text("the probe module ran")


class UntrustedProbeCalculator(mg.Calculator):
    value = mg.Input(int, tag="")
    out = mg.Output(int, tag="")

    def process(self, cc):
        cc.send(self.out, cc.get(self.value) * 10)
'''

GRAPH = f"""
node {{ calculator: "CountingSourceCalculator" output_stream: "n"
       node_options {{ [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {{
         count: 3 }} }} }}
node {{ calculator: "{PROBE_CLASS}" input_stream: "n" output_stream: "out" }}
output_stream: "out"
"""


def _write_probe(folder: Path) -> Path:
    (folder / f"{PROBE}.py").write_text(PROBE_SOURCE)
    return folder / "imported.txt"


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """The probe module, importable; yields the file its import writes."""
    modules = tmp_path / "modules"
    modules.mkdir()
    marker = _write_probe(modules)
    monkeypatch.syspath_prepend(str(modules))
    yield marker
    sys.modules.pop(PROBE, None)
    registry.unregister_calculator("UntrustedProbeCalculator")


def _never_imported(marker: Path) -> bool:
    return not marker.exists() and PROBE not in sys.modules


def test_dotted_calculator_is_refused_by_default(probe):
    with pytest.raises(UnknownCalculatorError) as info:
        mg.Graph(GRAPH)
    message = str(info.value)
    assert PROBE_CLASS in message
    assert f"allow_imports=['{PROBE}']" in message and f"--allow-import {PROBE}" in message
    assert _never_imported(probe)


@pytest.mark.parametrize("prefix", ["other", "some_module", f"{PROBE}_x", "some", "",
                                    ".", PROBE_CLASS, f"{PROBE}.sub"])
def test_dotted_calculator_outside_the_allowed_packages_is_refused(probe, prefix):
    with pytest.raises(UnknownCalculatorError, match="--allow-import"):
        mg.Graph(GRAPH, allow_imports=[prefix])
    assert _never_imported(probe)


@pytest.mark.parametrize("prefix", [PROBE, f" {PROBE} ", f"{PROBE}."])
def test_dotted_calculator_inside_an_allowed_package_runs(probe, prefix):
    graph = mg.Graph(GRAPH, allow_imports=["other", prefix])
    assert probe.exists()
    assert [p.value for p in graph.run()["out"]] == [0, 10, 20]


def test_prefixes_match_whole_package_names(tmp_path, monkeypatch):
    for package in ("pkg", "pkg_evil"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(
            "from pathlib import Path\nPath(__file__).with_name('ran').touch()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = 'input_stream: "a" node { calculator: "pkg_evil.mod.X" input_stream: "a" }'
    with pytest.raises(UnknownCalculatorError, match="--allow-import pkg_evil"):
        mg.Graph(config, allow_imports=["pkg"])
    assert not (tmp_path / "pkg_evil" / "ran").exists() and "pkg_evil" not in sys.modules
    # Inside the allowed package the import goes ahead (and fails: there is no pkg.mod).
    with pytest.raises(UnknownCalculatorError, match="cannot import calculator 'pkg.mod.X'"):
        mg.Graph(config.replace("pkg_evil", "pkg"), allow_imports=["pkg"])
    sys.modules.pop("pkg", None)


def test_a_bare_string_allows_one_package_in_the_registry(probe):
    with pytest.raises(UnknownCalculatorError, match="--allow-import"):
        registry.resolve(PROBE_CLASS, allow_imports="some_module_that_would_run_code_not")
    assert _never_imported(probe)
    assert registry.resolve(PROBE_CLASS, allow_imports=PROBE)[0] == "calculator"


def test_a_bare_string_allows_one_package_in_graph():
    config = 'input_stream: "a" node { calculator: "s.X" input_stream: "a" }'
    with pytest.raises(UnknownCalculatorError, match="--allow-import s"):
        mg.Graph(config, allow_imports="some")


@pytest.mark.parametrize("name", [".relative.X", "os.system('id').X", "a..B", "pkg.mod.X Y"])
def test_names_that_are_not_dotted_paths_are_never_imported(name):
    config = f'input_stream: "a" node {{ calculator: "{name}" input_stream: "a" }}'
    allow = ["", ".", "os", "a", "pkg", "relative"]
    with pytest.raises(UnknownCalculatorError, match="neither a registered name nor a dotted"):
        mg.Graph(config, allow_imports=allow)


def test_cli_validate_needs_allow_import(probe, tmp_path, capsys):
    path = tmp_path / "graph.pbtxt"
    path.write_text(GRAPH)
    assert main(["validate", str(path)]) == 1
    assert f"--allow-import {PROBE}" in capsys.readouterr().out
    assert main(["validate", str(path), "--allow-import", "some_module"]) == 1
    assert _never_imported(probe)
    assert main(["validate", str(path), "--allow-import", PROBE]) == 0
    assert "ok   " in capsys.readouterr().out and probe.exists()


def test_cli_run_needs_allow_import(probe, tmp_path, capsys):
    path = tmp_path / "graph.pbtxt"
    path.write_text(GRAPH)
    assert main(["run", str(path), "--print-outputs"]) == 1
    assert f"--allow-import {PROBE}" in capsys.readouterr().err
    assert _never_imported(probe)
    assert main(["run", str(path), "--print-outputs", "--allow-import", PROBE]) == 0
    assert "out @ 2: 20" in capsys.readouterr().out


@pytest.mark.parametrize("model_path", ["os.system", PROBE_CLASS, PROBE, f"{PROBE}.py"])
def test_model_path_is_a_file_name_never_a_module(probe, tmp_path, monkeypatch, model_path):
    monkeypatch.setenv("MEDIAGRAPH_MODELS", str(tmp_path / "no_models"))
    monkeypatch.chdir(tmp_path)  # the probe's .py sits in tmp_path/modules, not here
    graph = mg.Graph(f"""
        input_stream: "TENSORS:tensors"
        node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:tensors"
               output_stream: "TENSORS:out"
               options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
                 model_path: "{model_path}" }} }} }}""")
    with pytest.raises(CalculatorError) as info:
        graph.run(inputs={"tensors": []})
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert f"model '{model_path}' not found" in str(info.value.__cause__)
    assert _never_imported(probe)


def test_names_options_and_side_packets_are_plain_data(probe, tmp_path, capsys):
    """The probe's name everywhere a config holds a string: nothing imports it."""
    path = tmp_path / "graph.pbtxt"
    path.write_text(f"""
        input_side_packet: "input_video_path"
        package: "{PROBE}"
        executor {{ name: "{PROBE_CLASS}" }}
        node {{ name: "{PROBE_CLASS}" calculator: "VideoDecoderCalculator"
               executor: "{PROBE_CLASS}"
               input_side_packet: "INPUT_FILE_PATH:input_video_path"
               output_stream: "VIDEO:{PROBE}" }}
        node {{ calculator: "PassThroughCalculator" input_stream: "{PROBE}"
               output_stream: "out" }}""")
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--quiet", "--input", PROBE_CLASS]) == 1
    assert f"video file not found: '{PROBE_CLASS}'" in capsys.readouterr().err
    assert _never_imported(probe)


def test_unknown_subgraph_type_is_never_imported(probe, tmp_path):
    config = f'node {{ calculator: "{PROBE}" }}'  # no dot: a subgraph or calculator name
    with pytest.raises(UnknownCalculatorError, match=f"unknown calculator or subgraph '{PROBE}'"):
        mg.Graph(config, allow_imports=[PROBE])
    assert _never_imported(probe)


# -- `mediagraph validate` on hostile files --------------------------------------------

DOTTED = [f'"{PROBE_CLASS}"', '"os.system"', f'"{PROBE}"', '"builtins.eval"']
# The fuzz seeds with their first calculator named by the probe's dotted path.
HOSTILE_SEEDS = [re.sub(r'calculator: "\w+"', f'calculator: "{PROBE_CLASS}"', seed, count=1)
                 for seed in SEEDS]
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_SEEDS),
    edited(),
    edited(HOSTILE_SEEDS),
    edited(HOSTILE_SEEDS),
    edited_binary(),
    st.binary(max_size=256),
    st.text(st.characters(exclude_categories=()), max_size=256),
    st.lists(st.sampled_from(TOKENS + DOTTED), max_size=40).map(" ".join),
)


@settings(deadline=None, max_examples=200, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=HOSTILE, suffix=st.sampled_from([".pbtxt", ".binarypb", ".txt", ""]))
def test_validate_never_crashes_or_imports_on_bad_configs(tmp_path_factory, data, suffix):
    folder = tmp_path_factory.getbasetemp() / "hostile"
    folder.mkdir(exist_ok=True)
    marker = _write_probe(folder)
    path = folder / f"config{suffix}"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(data)
    sys.path.insert(0, str(folder))
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = main(["validate", str(path)])
    finally:
        sys.path.remove(str(folder))
    assert status in (0, 1)
    assert _never_imported(marker)


def test_validate_reports_unreadable_files(tmp_path, capsys):
    folder = tmp_path / "folder.pbtxt"
    folder.mkdir()
    assert main(["validate", str(folder), str(tmp_path / "missing.pbtxt")]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL") == 2
