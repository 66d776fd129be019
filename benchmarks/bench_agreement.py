"""Agreement with MediaPipe itself: the same stills through MediaPipe 0.10.14's solutions and
through MediaPipe's own top-level graphs run UNCHANGED by mediagraph; prints the table.

The reference side is `tools/mediapipe_reference.py stills`, run by a python that has
`mediapipe==0.10.14` (--mediapipe-python, else $MEDIAGRAPH_MEDIAPIPE_PYTHON): it calls
`mediapipe.solutions.pose` / `face_mesh` / `holistic` with `static_image_mode=True`. Our
side loads `pose_landmark_cpu.binarypb`, `face_landmark_front_cpu.binarypb` and
`holistic_landmark_cpu.binarypb` from the model cache as they are (only the top-level
`type` is cleared so the config runs as a graph, not a subgraph) and runs each still
through a fresh graph with the side packets the solutions set in static mode
(`STATIC_SIDE_PACKETS`). The stills are `mediagraph.testing.samples.still(...)`, written as
PNG (lossless) so both sides read the same pixels.

Measures, per still and landmark set:
- normalized landmarks: the distance between ours and MediaPipe's in pixels (x, y; z left
  out), as a percentage of the image's larger side: mean and max over the landmarks; and
  `vis`, the largest difference of visibility or presence where both sides set them;
- world landmarks (metres): mean and max distance in millimetres (x, y, z);
- counts: poses, faces and hands found, ours vs theirs (face mesh pairs each of our faces
  with the reference face nearest to it);
- segmentation masks: IoU of the two masks thresholded at 0.5.

    python benchmarks/bench_agreement.py [--mediapipe-python /work/mpvenv/bin/python]
        [--solutions pose,face_mesh,holistic]

tests/graphs/test_mediapipe_agreement.py asserts on the same rows (mean error under 1% of
the image size, the same counts, IoU above 0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tools" / "mediapipe_reference.py"
ENV_VAR = "MEDIAGRAPH_MEDIAPIPE_PYTHON"
GRAPH_FILES = {
    "pose": "pose_landmark_cpu.binarypb",
    "face_mesh": "face_landmark_front_cpu.binarypb",
    "holistic": "holistic_landmark_cpu.binarypb",
}
# Landmark sets: (our graph's output stream, the solution's result field, world?).
LANDMARK_SETS = {
    "pose": (("pose_landmarks", False), ("pose_world_landmarks", True)),
    "face_mesh": (),
    "holistic": (("pose_landmarks", False), ("pose_world_landmarks", True),
                 ("face_landmarks", False), ("left_hand_landmarks", False),
                 ("right_hand_landmarks", False)),
}

VISIBILITY_TOLERANCE = 0.05  # visibility and presence are probabilities
COUNTED = {"pose": ("poses",), "face_mesh": ("faces",), "holistic": ("poses", "faces", "hands")}


@dataclass(frozen=True)
class Case:
    """One solution with one set of options over some stills."""

    solution: str
    stills: tuple[str, ...]
    model_complexity: int = 1
    enable_segmentation: bool = False
    refine: bool = False
    max_num_faces: int = 1
    label: str = field(default="")

    def reference_args(self) -> list[str]:
        args = ["--model-complexity", str(self.model_complexity),
                "--max-num-faces", str(self.max_num_faces)]
        return args + (["--enable-segmentation"] if self.enable_segmentation else []) + \
            (["--refine"] if self.refine else [])

    def side_packets(self) -> dict[str, Any]:
        """What MediaPipe's solution sets with static_image_mode=True (solutions/*.py)."""
        if self.solution == "face_mesh":
            return {"num_faces": self.max_num_faces, "with_attention": self.refine,
                    "use_prev_landmarks": False}
        packets = {"model_complexity": self.model_complexity, "smooth_landmarks": False,
                   "enable_segmentation": self.enable_segmentation,
                   "smooth_segmentation": False, "use_prev_landmarks": False}
        if self.solution == "holistic":
            packets["refine_face_landmarks"] = self.refine
        return packets

    @property
    def name(self) -> str:
        return self.label or self.solution


CASES = (
    Case("pose", ("person", "person_turned", "bus", "portrait", "zidane"),
         enable_segmentation=True, label="pose+seg"),
    Case("face_mesh", ("portrait", "faces", "person"), max_num_faces=4, label="face_mesh"),
    Case("face_mesh", ("portrait", "faces"), max_num_faces=4, refine=True,
         label="face_mesh+attention"),
    Case("holistic", ("person", "person_turned", "portrait"), enable_segmentation=True,
         label="holistic+seg"),
    Case("holistic", ("person",), refine=True, label="holistic+refine"),
)


def mediapipe_python(explicit: str | None = None) -> str | None:
    """The python with mediapipe 0.10.14: `explicit`, else $MEDIAGRAPH_MEDIAPIPE_PYTHON."""
    return explicit or os.environ.get(ENV_VAR) or None


def mediapipe_version(python: str) -> str | None:
    out = subprocess.run([python, "-c", "import mediapipe; print(mediapipe.__version__)"],
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip() if out.returncode == 0 else None


def write_stills(folder: Path, names: tuple[str, ...]) -> dict[str, Path]:
    import cv2

    from mediagraph.testing import samples

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        path = folder / f"{name}.png"
        if not path.exists():
            cv2.imwrite(str(path), cv2.cvtColor(samples.still(name), cv2.COLOR_RGB2BGR))
        paths[name] = path
    return paths


def reference(python: str, case: Case, paths: dict[str, Path], masks: Path
              ) -> dict[str, dict[str, Any]]:
    """MediaPipe's answers for `case` on the stills, by still name."""
    command = [python, str(REFERENCE), "stills", case.solution,
               *[str(paths[n]) for n in case.stills], "--masks", str(masks),
               *case.reference_args()]
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"the MediaPipe reference failed ({' '.join(command)}):\n"
                           f"{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    by_path = {entry["image"]: entry for entry in result["stills"]}
    answers = {}
    for name in case.stills:
        entry = by_path[str(paths[name])]
        mask = entry["masks"].get("segmentation_mask")
        entry["mask"] = np.load(mask) if mask else None
        answers[name] = entry
    return answers


def _points(landmark_list: Any) -> list[list[float | None]] | None:
    if landmark_list is None:
        return None
    return [[lm.x, lm.y, lm.z, getattr(lm, "visibility", None), getattr(lm, "presence", None)]
            for lm in landmark_list.landmark]


def ours(case: Case, image: np.ndarray) -> dict[str, Any]:
    """mediagraph's answers for `case` on one still (an RGB array), shaped as the reference's."""
    import mediagraph.calculators  # noqa: F401  (registers the calculators)
    import mediagraph as mg
    from mediagraph import models
    from mediagraph.formats import ImageFrame

    config = mg.load_config(models.mediapipe_graph(GRAPH_FILES[case.solution]))
    config.ClearField("type")
    graph = mg.Graph(config)
    out = graph.run({"image": [(ImageFrame(np.ascontiguousarray(image)), 0)]},
                    side_packets=case.side_packets(), timeout=600)

    def value(stream: str) -> Any:
        packets = out.get(stream) or []
        return packets[0].value if packets else None

    entry: dict[str, Any] = {"landmarks": {}, "width": image.shape[1],
                             "height": image.shape[0]}
    for stream, _ in LANDMARK_SETS[case.solution]:
        entry["landmarks"][stream] = _points(value(stream))
    poses = faces = hands = 0
    if case.solution == "face_mesh":
        found = value("multi_face_landmarks") or []
        entry["multi_face_landmarks"] = [_points(face) for face in found]
        faces = len(found)
    else:
        poses = int(entry["landmarks"]["pose_landmarks"] is not None)
    if case.solution == "holistic":
        faces = int(entry["landmarks"]["face_landmarks"] is not None)
        hands = sum(entry["landmarks"][s] is not None
                    for s in ("left_hand_landmarks", "right_hand_landmarks"))
    entry["counts"] = {"poses": poses, "faces": faces, "hands": hands}
    mask = value("segmentation_mask")
    entry["mask"] = None if mask is None else np.asarray(mask.to_ndarray(), np.float32)
    return entry


@dataclass
class Row:
    """One line of the agreement table."""

    case: str
    still: str
    landmarks: str  # the landmark set, "counts" or "mask"
    mean: float | None = None  # % of the image's larger side (world: mm)
    max: float | None = None
    ours: int | None = None  # landmarks/things found
    theirs: int | None = None
    iou: float | None = None
    unit: str = "%"
    visibility: float | None = None  # max |ours - theirs| of visibility and presence
    error: str | None = None  # our graph failed on this still

    @property
    def agrees(self) -> bool:
        if self.error is not None:
            return False
        if self.landmarks == "mask":
            return self.iou is not None and self.iou > 0.95
        if self.ours != self.theirs:
            return False
        if self.visibility is not None and self.visibility > VISIBILITY_TOLERANCE:
            return False
        if self.mean is None:
            return True
        return self.mean < (1.0 if self.unit == "%" else 10.0)


def _distances(a: list[list[Any]], b: list[list[Any]], width: int, height: int,
               world: bool) -> np.ndarray:
    pa = np.array([p[:3] for p in a], np.float64)
    pb = np.array([p[:3] for p in b], np.float64)
    if world:
        return 1000.0 * np.linalg.norm(pa - pb, axis=1)  # mm
    scale = np.array([width, height], np.float64)
    return 100.0 * np.linalg.norm((pa[:, :2] - pb[:, :2]) * scale, axis=1) / max(width, height)


def _landmark_row(case: Case, still: str, name: str, mine: Any, theirs: Any, width: int,
                  height: int, world: bool) -> Row:
    row = Row(case.name, still, name, ours=0 if mine is None else len(mine),
              theirs=0 if theirs is None else len(theirs), unit="mm" if world else "%")
    if mine is not None and theirs is not None and len(mine) == len(theirs):
        d = _distances(mine, theirs, width, height, world)
        row.mean, row.max = float(d.mean()), float(d.max())
        gaps = [abs(a[k] - b[k]) for a, b in zip(mine, theirs) for k in (3, 4)
                if a[k] is not None and b[k] is not None]
        row.visibility = max(gaps) if gaps else None
    return row


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.squeeze(a) > 0.5, np.squeeze(b) > 0.5
    if a.shape != b.shape:
        raise ValueError(f"masks of different sizes: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare(case: Case, still: str, mine: dict[str, Any], theirs: dict[str, Any]) -> list[Row]:
    """The table rows for one still: every landmark set, the counts, the mask."""
    width, height = theirs["width"], theirs["height"]
    rows = []
    for stream, world in LANDMARK_SETS[case.solution]:
        rows.append(_landmark_row(case, still, stream, mine["landmarks"].get(stream),
                                  theirs["landmarks"].get(stream), width, height, world))
    if case.solution == "face_mesh":
        remaining = list(theirs["multi_face_landmarks"])
        for i, face in enumerate(mine["multi_face_landmarks"]):
            if not remaining:
                break
            nearest = min(range(len(remaining)), key=lambda k: float(
                _distances(face, remaining[k], width, height, False).mean())
                if len(face) == len(remaining[k]) else float("inf"))
            rows.append(_landmark_row(case, still, f"face {i}", face, remaining.pop(nearest),
                                      width, height, False))
    for kind in COUNTED[case.solution]:
        rows.append(Row(case.name, still, kind, ours=mine["counts"][kind],
                            theirs=theirs["counts"][kind], unit=""))
    if case.enable_segmentation and (mine["mask"] is not None or theirs["mask"] is not None):
        row = Row(case.name, still, "mask")
        if mine["mask"] is not None and theirs["mask"] is not None:
            row.iou = iou(mine["mask"], theirs["mask"])
        rows.append(row)
    return rows


def run_case(python: str, case: Case, folder: Path) -> list[Row]:
    from mediagraph.testing import samples

    paths = write_stills(folder / "stills", case.stills)
    answers = reference(python, case, paths, folder / "masks" / case.name)
    rows = []
    for name in case.stills:
        try:
            mine = ours(case, samples.still(name))
        except Exception as exc:  # noqa: BLE001  (a row that says why, not a lost table)
            rows.append(Row(case.name, name, "error", error=f"{type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:300]}"))
            continue
        rows += compare(case, name, mine, answers[name])
    return rows


def format_rows(rows: list[Row]) -> str:
    lines = [f"{'case':20s} {'still':14s} {'landmarks':20s} {'mean':>8s} {'max':>8s} "
             f"{'ours':>5s} {'theirs':>6s} {'IoU':>6s} {'vis':>6s}  agrees"]
    for r in rows:
        def num(v: float | None, unit: str) -> str:
            return f"{v:6.3f}{unit:2s}" if v is not None else f"{'-':>8s}"
        lines.append(f"{r.case:20s} {r.still:14s} {r.landmarks:20s} {num(r.mean, r.unit)} "
                     f"{num(r.max, r.unit)} "
                     f"{'' if r.ours is None else r.ours:>5} "
                     f"{'' if r.theirs is None else r.theirs:>6} "
                     f"{'' if r.iou is None else format(r.iou, '.4f'):>6s} "
                     f"{'' if r.visibility is None else format(r.visibility, '.4f'):>6s}  "
                     f"{'yes' if r.agrees else 'NO'}"
                     f"{'  ' + r.error if r.error else ''}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", help=f"default: ${ENV_VAR}")
    parser.add_argument("--solutions", default="pose,face_mesh,holistic")
    args = parser.parse_args()
    python = mediapipe_python(args.mediapipe_python)
    if python is None:
        sys.exit(f"give --mediapipe-python or set {ENV_VAR} to a python with mediapipe")
    version = mediapipe_version(python)
    if version is None:
        sys.exit(f"{python} cannot import mediapipe")
    wanted = {s.strip() for s in args.solutions.split(",")}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if case.solution in wanted:
                rows += run_case(python, case, Path(tmp))
    print(f"MediaPipe {version} solutions (static_image_mode=True) vs mediagraph running "
          f"MediaPipe's binarypb graphs unchanged; landmark error in % of the image's larger "
          f"side (world landmarks: mm), masks thresholded at 0.5")
    print(format_rows(rows))
    bad = [r for r in rows if not r.agrees]
    print(f"{len(rows) - len(bad)} of {len(rows)} rows agree")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
