"""Run one of MediaPipe's own smoothing calculators on a landmark sequence (reference only).

Run with the Python of a venv that has `mediapipe==0.10.14` installed, never mediagraph's:

    /work/mpvenv/bin/python tools/mediapipe_smoothing_reference.py < request.json > reply.json

The request is JSON: {"calculator": "LandmarksSmoothingCalculator" or
"VisibilitySmoothingCalculator", "options": "<text inside [ext] { }>", "world": false,
"image_size": [w, h], "frames": [{"t": microseconds, "landmarks": [[x, y, z, visibility
or null, presence or null], ...] or null, "roi": [x_center, y_center, width, height,
rotation] (optional: an OBJECT_SCALE_ROI packet, NormalizedRect)}, ...]}. A frame whose landmarks are null sends
no landmarks packet at its timestamp (the image still goes, so MediaPipe's Process runs
and resets, as it does when tracking loses the object). The reply lists, per output
packet, {"t": ..., "landmarks": [[x, y, z, visibility or null, presence or null], ...]}.
`tests/calculators/postprocess/test_smoothing_mediapipe_agreement.py` drives it.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import mediapipe as mp
    import numpy as np
    from mediapipe.framework.formats import landmark_pb2, rect_pb2

    request = json.load(sys.stdin)
    name = request["calculator"]
    world = request.get("world", False)
    width, height = request.get("image_size", [640, 480])
    lm_in, lm_out = ("LANDMARKS", "FILTERED_LANDMARKS") if world else (
        "NORM_LANDMARKS", "NORM_FILTERED_LANDMARKS")
    size_node = size_port = ""
    if name == "LandmarksSmoothingCalculator" and not world:
        size_node = ('node { calculator: "ImagePropertiesCalculator" '
                     'input_stream: "IMAGE:img" output_stream: "SIZE:size" }')
        size_port = 'input_stream: "IMAGE_SIZE:size"'
    tick = 'input_stream: "img"' if size_node else ""
    with_roi = any(f.get("roi") is not None for f in request["frames"])
    if with_roi:
        tick += ' input_stream: "roi"'
        size_port += ' input_stream: "OBJECT_SCALE_ROI:roi"'
    config = f"""
        input_stream: "lm" {tick} output_stream: "out"
        {size_node}
        node {{ calculator: "{name}" input_stream: "{lm_in}:lm" {size_port}
                output_stream: "{lm_out}:out"
                options {{ [mediapipe.{name}Options.ext] {{ {request["options"]} }} }} }}"""
    graph = mp.CalculatorGraph(graph_config=config)
    replies: list[dict] = []

    def observe(_stream, packet) -> None:
        proto = mp.packet_getter.get_proto(packet)
        replies.append({"t": packet.timestamp.value, "landmarks": [
            [p.x, p.y, p.z, p.visibility if p.HasField("visibility") else None,
             p.presence if p.HasField("presence") else None] for p in proto.landmark]})

    graph.observe_output_stream("out", observe)
    graph.start_run()
    image = mp.ImageFrame(image_format=mp.ImageFormat.SRGB,
                          data=np.zeros((height, width, 3), np.uint8))
    make = landmark_pb2.LandmarkList if world else landmark_pb2.NormalizedLandmarkList
    for frame in request["frames"]:
        t = frame["t"]
        if frame["landmarks"] is not None:
            message = make()
            for x, y, z, visibility, presence in frame["landmarks"]:
                point = message.landmark.add(x=x, y=y, z=z)
                if visibility is not None:
                    point.visibility = visibility
                if presence is not None:
                    point.presence = presence
            graph.add_packet_to_input_stream("lm", mp.packet_creator.create_proto(message).at(t))
        if frame.get("roi") is not None:
            x, y, w, h, rotation = frame["roi"]
            rect = rect_pb2.NormalizedRect(x_center=x, y_center=y, width=w, height=h,
                                           rotation=rotation)
            graph.add_packet_to_input_stream("roi", mp.packet_creator.create_proto(rect).at(t))
        if size_node:
            graph.add_packet_to_input_stream(
                "img", mp.packet_creator.create_image_frame(image).at(t))
    graph.close()
    json.dump(replies, sys.stdout)


if __name__ == "__main__":
    main()
