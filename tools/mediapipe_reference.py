"""MediaPipe 0.10.14's own answers, for comparing mediagraph against: run by a python that has
`mediapipe==0.10.14` (a separate venv; this script never imports mediagraph, and mediagraph
never imports mediapipe).

Stills: the solution in static-image mode (`static_image_mode=True`, what the issue's
agreement test compares) on each PNG; prints JSON on stdout, masks go to --masks as .npy
(float32, HxW, the solution's `segmentation_mask`):

    /work/mpvenv/bin/python tools/mediapipe_reference.py stills pose a.png b.png \
        [--model-complexity 1] [--enable-segmentation] [--masks DIR]
    ... stills face_mesh faces.png [--refine] [--max-num-faces 4]
    ... stills holistic person.png [--refine] [--enable-segmentation] [--masks DIR]

    {"mediapipe": "0.10.14", "solution": "pose", "options": {...},
     "stills": [{"image": "a.png", "width": 640, "height": 480,
                 "landmarks": {"pose_landmarks": [[x, y, z, visibility, presence], ...],
                               "pose_world_landmarks": [[x, y, z, visibility, presence], ...]},
                 "multi_face_landmarks": [[[x, y, z, visibility, presence], ...], ...],
                 "counts": {"poses": 1, "faces": 0, "hands": 0},
                 "masks": {"segmentation_mask": "DIR/a.segmentation_mask.npy"}}]}

Landmarks are MediaPipe's normalized ones (x, y in [0, 1] of the image width and height)
and world ones (metres); visibility or presence is null where MediaPipe leaves it unset. A
landmark set the solution did not find is null (face mesh: `multi_face_landmarks` is the
list of faces found, possibly empty). Images are read with cv2 as RGB (PNG: lossless, the
same pixels the other side reads).

Video: the solution in video mode (`static_image_mode=False`: tracking and smoothing), for
the speed benchmark (benchmarks/bench_solutions.py). Frames are decoded with PyAV as rgb24
and written with PyAV's libx264 in yuv420p with the settings of mediagraph's
VideoEncoderCalculator (codec defaults, x264 frame threads, max(6, 1.5 x cores) of them),
so both sides decode and encode with the same library and the same settings: PyAV is not
in the MediaPipe venv, so the benchmark puts the very `av` package of mediagraph's venv on
PYTHONPATH (same CPython 3.11, same numpy). `--draw` draws what MediaPipe's demos draw,
with mediapipe's own drawing_utils (and the segmentation tint when enabled):

    ... video pose in.mp4 out.mp4 [--model-complexity 1] [--enable-segmentation] [--draw]

    {"frames": 300, "seconds": 12.3, "cpu": 20.1, "max_rss_kb": 412345, "found": 300}

`seconds` covers the first decode to the encoder's flush; `cpu` is this process's CPU time
over the same span (every thread); `max_rss_kb` is the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

_SOLUTIONS = ("pose", "face_mesh", "holistic")
# The normalized and world landmark sets each solution reports (their result field names).
_LANDMARK_SETS = {
    "pose": ("pose_landmarks", "pose_world_landmarks"),
    "face_mesh": (),
    "holistic": ("pose_landmarks", "pose_world_landmarks", "face_landmarks",
                 "left_hand_landmarks", "right_hand_landmarks"),
}


def _solution(name: str, args: argparse.Namespace, static: bool) -> Any:
    import mediapipe as mp

    if name == "pose":
        return mp.solutions.pose.Pose(static_image_mode=static,
                                      model_complexity=args.model_complexity,
                                      smooth_landmarks=args.smooth,
                                      enable_segmentation=args.enable_segmentation,
                                      smooth_segmentation=args.smooth)
    if name == "face_mesh":
        return mp.solutions.face_mesh.FaceMesh(static_image_mode=static,
                                               max_num_faces=args.max_num_faces,
                                               refine_landmarks=args.refine)
    return mp.solutions.holistic.Holistic(static_image_mode=static,
                                          model_complexity=args.model_complexity,
                                          smooth_landmarks=args.smooth,
                                          enable_segmentation=args.enable_segmentation,
                                          smooth_segmentation=args.smooth,
                                          refine_face_landmarks=args.refine)


def _points(landmark_list: Any) -> list[list[float | None]] | None:
    if landmark_list is None:
        return None
    rows = []
    for lm in landmark_list.landmark:
        rows.append([lm.x, lm.y, lm.z,
                     lm.visibility if lm.HasField("visibility") else None,
                     lm.presence if lm.HasField("presence") else None])
    return rows


def _read_rgb(path: str) -> np.ndarray:
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"cannot read image '{path}'")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def stills(args: argparse.Namespace) -> dict[str, Any]:
    import mediapipe as mp

    masks = Path(args.masks) if args.masks else None
    if masks is not None:
        masks.mkdir(parents=True, exist_ok=True)
    results = []
    for path in args.images:
        image = _read_rgb(path)
        # A fresh solution per still: static mode keeps nothing between images anyway,
        # and this keeps one still's failure from touching the next.
        with _solution(args.solution, args, static=True) as solution:
            result = solution.process(image)
        entry: dict[str, Any] = {"image": path, "width": image.shape[1],
                                 "height": image.shape[0], "landmarks": {}, "masks": {}}
        for field in _LANDMARK_SETS[args.solution]:
            entry["landmarks"][field] = _points(getattr(result, field))
        faces = hands = poses = 0
        if args.solution == "face_mesh":
            found = result.multi_face_landmarks or []
            entry["multi_face_landmarks"] = [_points(face) for face in found]
            faces = len(found)
        else:
            poses = int(result.pose_landmarks is not None)
        if args.solution == "holistic":
            faces = int(result.face_landmarks is not None)
            hands = int(result.left_hand_landmarks is not None) + \
                int(result.right_hand_landmarks is not None)
        entry["counts"] = {"poses": poses, "faces": faces, "hands": hands}
        mask = getattr(result, "segmentation_mask", None)
        if mask is not None and masks is not None:
            target = masks / f"{Path(path).stem}.segmentation_mask.npy"
            np.save(target, np.asarray(mask, np.float32))
            entry["masks"]["segmentation_mask"] = str(target)
        results.append(entry)
    return {"mediapipe": mp.__version__, "solution": args.solution,
            "options": _options(args, static=True), "stills": results}


def _options(args: argparse.Namespace, static: bool) -> dict[str, Any]:
    return {"static_image_mode": static, "model_complexity": args.model_complexity,
            "enable_segmentation": args.enable_segmentation, "refine": args.refine,
            "max_num_faces": args.max_num_faces, "smooth": args.smooth and not static}


def _x264_frame_threads() -> int:
    """mediagraph's VideoEncoderCalculator default: x264's 1.5 per core, at least 6."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(6, cores * 3 // 2)


def _draw(mp: Any, solution: str, image: np.ndarray, result: Any, tint: bool) -> None:
    """What MediaPipe's demos draw, in place: the segmentation tint (the pose demo's
    RecolorCalculator: the background, 1 - mask, painted blue, no luminance adjustment),
    then face contours, the pose skeleton and hands with drawing_utils' default styles.
    The demos' detection box and ROI rectangle are not drawn: the solutions do not return
    them."""
    drawing, styles = mp.solutions.drawing_utils, mp.solutions.drawing_styles
    mask = getattr(result, "segmentation_mask", None)
    if tint and mask is not None:
        weight = (1.0 - np.clip(mask, 0.0, 1.0))[:, :, None]
        image[:] = (image * (1 - weight) + np.array([0, 0, 255]) * weight).astype(np.uint8)
    if solution == "holistic" and result.face_landmarks is not None:
        drawing.draw_landmarks(image, result.face_landmarks,
                               mp.solutions.face_mesh.FACEMESH_CONTOURS,
                               landmark_drawing_spec=None,
                               connection_drawing_spec=styles
                               .get_default_face_mesh_contours_style())
    if result.pose_landmarks is not None:
        drawing.draw_landmarks(image, result.pose_landmarks,
                               mp.solutions.pose.POSE_CONNECTIONS,
                               landmark_drawing_spec=styles.get_default_pose_landmarks_style())
    if solution == "holistic":
        for hand in (result.left_hand_landmarks, result.right_hand_landmarks):
            if hand is not None:
                drawing.draw_landmarks(image, hand, mp.solutions.hands.HAND_CONNECTIONS)


def video(args: argparse.Namespace) -> dict[str, Any]:
    import av
    import mediapipe as mp

    frames = found = 0
    start, cpu = time.perf_counter(), time.process_time()
    with _solution(args.solution, args, static=False) as solution, \
            av.open(args.input) as source, av.open(args.output, "w") as sink:
        stream = None
        for frame in source.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            result = solution.process(image)
            found += int(result.pose_landmarks is not None)
            if args.draw:
                image = np.array(image)  # the decoded array may be read-only
                _draw(mp, args.solution, image, result, args.enable_segmentation)
            if stream is None:
                stream = sink.add_stream("libx264", rate=30)
                stream.width, stream.height = image.shape[1], image.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.thread_type = "FRAME"
                stream.codec_context.thread_count = _x264_frame_threads()
            out = av.VideoFrame.from_ndarray(image, format="rgb24")
            out.pts, out.time_base = frames, Fraction(1, 30)
            sink.mux(stream.encode(out))
            frames += 1
        if stream is not None:
            sink.mux(stream.encode(None))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"frames": frames, "seconds": seconds, "cpu": cpu, "found": found,
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "options": _options(args, static=False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    still_parser = sub.add_parser("stills", help="static-image mode on PNG stills")
    still_parser.add_argument("solution", choices=_SOLUTIONS)
    still_parser.add_argument("images", nargs="+")
    still_parser.add_argument("--masks", help="folder for the segmentation masks (.npy)")
    video_parser = sub.add_parser("video", help="video mode over a clip, timed")
    video_parser.add_argument("solution", choices=("pose", "holistic"))
    video_parser.add_argument("input")
    video_parser.add_argument("output")
    video_parser.add_argument("--draw", action="store_true")
    for p in (still_parser, video_parser):
        p.add_argument("--model-complexity", type=int, default=1)
        p.add_argument("--enable-segmentation", action="store_true")
        p.add_argument("--refine", action="store_true",
                       help="face mesh refine_landmarks / holistic refine_face_landmarks")
        p.add_argument("--max-num-faces", type=int, default=1)
        p.add_argument("--no-smooth", dest="smooth", action="store_false",
                       help="video mode: smooth_landmarks/smooth_segmentation off")
    args = parser.parse_args(argv)
    result = stills(args) if args.mode == "stills" else video(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
