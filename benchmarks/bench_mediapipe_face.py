"""Baseline for bench_face_detection.py: MediaPipe 0.10.14's face detection solution.

Run with a separate venv that has mediapipe==0.10.14 and PyAV, the same av version as
mediagraph's venv (mediagraph never depends on mediapipe):
`python3 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.14 av==<that version>`.
cv2 decode -> mp.solutions.face_detection (short range) -> draw with mp's drawing utils
-> PyAV/libx264 encode, on one Python thread. Prints {"fps": ..., "peak_rss_mib": ...} as
JSON (peak RSS: this process's VmHWM, Linux only).

The encoder's threads: "default" is what PyAV gives a script that does not ask (x264's
slice threads), as the issue's reference harness did; "frame=N" asks for N x264 frame
threads, as mediagraph's VideoEncoderCalculator does by default ("frame": x264's count).

    /tmp/mpvenv/bin/python benchmarks/bench_mediapipe_face.py in.mp4 out.mp4 [default|frame=6]
"""

from __future__ import annotations

import json
import sys
import time
from fractions import Fraction

import av
import cv2
import mediapipe as mp


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    threads = sys.argv[3] if len(sys.argv) > 3 else "frame"
    kind, _, count = threads.partition("=")
    if kind not in ("default", "frame") or (count and not count.isdigit()):
        sys.exit(f"encoder threads must be 'default', 'frame' or 'frame=N', not {threads!r}")
    capture = cv2.VideoCapture(src)
    frames = 0
    start = time.perf_counter()
    with mp.solutions.face_detection.FaceDetection(model_selection=0,
                                                   min_detection_confidence=0.5) as detector, \
            av.open(dst, "w") as out:
        stream = None
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            result = detector.process(rgb)
            for detection in result.detections or []:
                mp.solutions.drawing_utils.draw_detection(rgb, detection)
            if stream is None:
                stream = out.add_stream("libx264", rate=30)
                stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
                if kind == "frame":
                    stream.codec_context.thread_type = "FRAME"
                    if count:
                        stream.codec_context.thread_count = int(count)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = frames, Fraction(1, 30)
            out.mux(stream.encode(frame))
            frames += 1
        if stream is not None:
            out.mux(stream.encode(None))
    elapsed = time.perf_counter() - start
    result = {"fps": frames / elapsed, "frames": frames}
    try:
        with open("/proc/self/status") as status:
            result["peak_rss_mib"] = next(int(line.split()[1]) / 1024 for line in status
                                          if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
