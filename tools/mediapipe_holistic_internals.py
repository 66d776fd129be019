"""MediaPipe 0.10.14's holistic graph in video mode, with the streams inside it: run by a
python that has `mediapipe==0.10.14` (a separate venv; this script never imports mediagraph).

Runs the wheel's holistic_landmark_cpu.binarypb through `mp.CalculatorGraph` on PNG frames
(read as RGB with cv2, stamped 33333 us apart from 33333 as the solutions do) and prints
JSON: per stream, {timestamp: value}. Landmark lists are [[x, y, z, visibility, presence],
...], rects [x_center, y_center, width, height, rotation]. Besides the graph's outputs it
observes the hand and face ROIs inside the expanded graph (names as MediaPipe's subgraph
expansion writes them), so mediagraph's pieces can be compared step by step:

    /work/mpvenv/bin/python tools/mediapipe_holistic_internals.py GRAPH.binarypb a.png b.png \
        [--no-smooth] [--refine]
"""

from __future__ import annotations

import argparse
import json
import os

HANDS = "handlandmarksleftandrightcpu__"
FACE = "facelandmarksfromposecpu__"
LANDMARKS = {"pose_landmarks": "pose_landmarks", "left_hand_landmarks": "left_hand_landmarks",
             "right_hand_landmarks": "right_hand_landmarks", "face_landmarks": "face_landmarks"}
RECTS = {f"{side}_hand_{what}": f"{HANDS}{side}_hand_{what}"
         for side in ("left", "right")
         for what in ("roi_from_pose", "roi_from_recrop", "tracking_roi")}
RECTS.update({name: FACE + name for name in ("face_roi_from_pose", "face_roi_from_detection",
                                              "face_tracking_roi")})
RECTS["pose_landmarks_roi"] = "pose_landmarks_roi"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graph")
    parser.add_argument("frames", nargs="+")
    parser.add_argument("--no-smooth", action="store_true")
    parser.add_argument("--refine", action="store_true")
    args = parser.parse_args()

    import cv2
    import mediapipe as mp
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import resource_util

    # Model paths in the graph are relative to the directory holding the mediapipe package.
    resource_util.set_resource_dir(os.path.dirname(os.path.dirname(mp.__file__)))
    graph = mp.CalculatorGraph(binary_graph_path=args.graph)
    found: dict[str, dict[int, list]] = {name: {} for name in [*LANDMARKS, *RECTS]}

    def landmarks(key):
        def observe(_, packet):
            value = packet_getter.get_proto(packet)
            found[key][packet.timestamp.value] = [
                [p.x, p.y, p.z, p.visibility, p.presence] for p in value.landmark]
        return observe

    def rect(key):
        def observe(_, packet):
            r = packet_getter.get_proto(packet)
            found[key][packet.timestamp.value] = [r.x_center, r.y_center, r.width, r.height,
                                                  r.rotation]
        return observe

    for key, stream in LANDMARKS.items():
        graph.observe_output_stream(stream, landmarks(key))
    for key, stream in RECTS.items():
        graph.observe_output_stream(stream, rect(key))
    side = {"model_complexity": packet_creator.create_int(1),
            "smooth_landmarks": packet_creator.create_bool(not args.no_smooth),
            "enable_segmentation": packet_creator.create_bool(False),
            "smooth_segmentation": packet_creator.create_bool(False),
            "refine_face_landmarks": packet_creator.create_bool(args.refine),
            "use_prev_landmarks": packet_creator.create_bool(True)}
    graph.start_run(input_side_packets=side)
    for index, path in enumerate(args.frames):
        rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        frame = packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB, data=rgb)
        graph.add_packet_to_input_stream("image", frame.at((index + 1) * 33333))
    graph.close()
    print(json.dumps(found))


if __name__ == "__main__":
    main()
