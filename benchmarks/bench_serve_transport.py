"""WebSocket + JPEG or WebRTC (aiortc, VP8)? The server's media cost per 640x480 frame.

What `mediagraph serve` spends on the transport, for each camera frame in and each
annotated frame out, measured on the samples' moving face at 640x480 (90 frames, after a
warm-up): the JPEG path decodes the client's JPEG and encodes the answer with OpenCV
(what `mediagraph.serve.images` does); the WebRTC path decodes the client's VP8 and
encodes the answer with aiortc's own codecs (libvpx through PyAV), as an aiortc server
would. Also the bytes per frame each way. Needs aiortc (pip install aiortc); the server
itself does not.

    python benchmarks/bench_serve_transport.py [--frames 90] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

import numpy as np

from mediagraph.profiler import percentile
from mediagraph.testing.samples import face_frame_fn


def frames(n: int) -> list[np.ndarray]:
    draw = face_frame_fn()
    return [np.ascontiguousarray(draw(i, n, 640, 480)) for i in range(n)]


def jpeg_path(images: list[np.ndarray]) -> dict[str, float]:
    import cv2

    # what the browser sends: JPEG quality 0.8 (canvas.toBlob); the answer: quality 80
    sent = [bytes(cv2.imencode(".jpg", cv2.cvtColor(im, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 80])[1]) for im in images]
    times, sizes = [], []
    for data in sent[:10] + sent:  # the first 10: warm-up
        t0 = time.perf_counter()
        rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB)
        out = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
        times.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(out))
    times = times[10:]
    return {"ms_mean": float(np.mean(times)), "ms_p95": percentile(times, 0.95),
            "kb_per_frame": float(np.mean([len(s) for s in sent])) / 1024}


def vp8_path(images: list[np.ndarray]) -> dict[str, float]:
    import av
    from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
    from aiortc.jitterbuffer import JitterFrame

    client, server_out = Vp8Encoder(), Vp8Encoder()
    server_in = Vp8Decoder()
    pts = 0
    sent = []
    for im in images[:10] + images:
        frame = av.VideoFrame.from_ndarray(im, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = pts, Fraction(1, 90000)
        pts += 3000
        payloads, timestamp = client.encode(frame)
        sent.append((b"".join(vp8_depayload(p) for p in payloads), timestamp))
    times, sizes = [], []
    for data, timestamp in sent:
        t0 = time.perf_counter()
        decoded = server_in.decode(JitterFrame(data=data, timestamp=timestamp))
        for frame in decoded:
            rgb = frame.to_ndarray(format="rgb24")  # what the graph takes
            back = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            back.pts, back.time_base = frame.pts, frame.time_base
            payloads, _ = server_out.encode(back)
        times.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(data))
    times = times[10:]
    return {"ms_mean": float(np.mean(times)), "ms_p95": percentile(times, 0.95),
            "kb_per_frame": float(np.mean(sizes[10:])) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    args = parser.parse_args()
    images = frames(args.frames)
    print(f"server media cost per 640x480 frame (decode in + encode out), {os.cpu_count()} CPUs")
    for name, measure in (("WebSocket + JPEG (OpenCV)", jpeg_path),
                          ("WebRTC + VP8 (aiortc/libvpx)", vp8_path)):
        try:
            row = measure(images)
        except ImportError as exc:
            print(f"  {name:30s} skipped: {exc}")
            continue
        print(f"  {name:30s} {row['ms_mean']:6.2f} ms mean  {row['ms_p95']:6.2f} ms p95  "
              f"{row['kb_per_frame']:6.1f} KiB a frame in")


if __name__ == "__main__":
    main()
