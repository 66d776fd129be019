"""`mediagraph serve` measured: the live page in Chromium, and POST /process under load.

The server (`mediagraph serve graphs/face_detection_live.pbtxt`, default --workers 2) and
headless Chromium run on the same machine, both held to `--cores` CPUs (default 2). The
page's camera is Chromium's fake device playing a 640x480, 30 fps y4m of the samples'
moving face. After a warm-up, for `--seconds`:

- live: frames shown per second, glass-to-glass latency p50/p95 (from the camera frame's
  capture time, or its arrival in the page where Chromium gives none, to the annotated
  frame painted: the page's own figures), frames dropped (by the page, with two frames
  in flight, and by the server);
- POST /process with 1, 4 and 16 concurrent clients sending the same 640x480 JPEG of
  the face: requests per second and request latency p50/p95, measured by the client.

    python benchmarks/bench_serve.py [--seconds 15] [--cores 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


from mediagraph.profiler import percentile
from mediagraph.testing.processes import stop
from mediagraph.testing.samples import face_frame_fn, make_y4m

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "graphs" / "face_detection_live.pbtxt"


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "mediagraph", "serve", str(GRAPH),
                                "--port", str(port), "--workers", str(workers)],
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)


def live(url: str, y4m: Path, seconds: float, chromium: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={y4m}"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(url + "/")
            page.wait_for_function("window.mgStats && window.mgStats().shown >= 30",
                                   timeout=60_000)
            time.sleep(2.0)  # warm-up
            before = page.evaluate("window.mgStats()")
            start = time.monotonic()
            time.sleep(seconds)
            after = page.evaluate("window.mgStats()")
            elapsed = time.monotonic() - start
        finally:
            browser.close()
    new = after["latencyTotal"] - before["latencyTotal"]
    latencies = after["latencies"][-new:] if new else []
    server_after = after["server"]
    return {"fps": (after["shown"] - before["shown"]) / elapsed,
            "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "frames": after["shown"] - before["shown"],
            "dropped_page": after["droppedPage"] - before["droppedPage"],
            "dropped_server": (after["droppedServer"] - before["droppedServer"]),
            "server_p50_ms": server_after["server_latency"]["p50_ms"],
            "clock": after["clock"], "errors": len(after["errors"])}


async def post_load(url: str, image: bytes, clients: int, seconds: float) -> dict[str, float]:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    stop = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            async with session.post(url + "/process", data=image) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
                    continue
            latencies.append((time.perf_counter() - t0) * 1e3)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.monotonic() - start
    return {"clients": clients, "requests_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "requests": len(latencies), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--cores", type=int, default=2, help="CPUs the server and browser share")
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    available = sorted(os.sched_getaffinity(0))
    cores = available[:args.cores]
    os.sched_setaffinity(0, cores)  # the server and Chromium inherit it
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {"cores": len(cores), "workers": args.workers,
                                  "seconds": args.seconds}
    with tempfile.TemporaryDirectory() as tmp:
        y4m = make_y4m(Path(tmp) / "face.y4m", face_frame_fn(), frames=150, width=640,
                       height=480, fps=30)
        import cv2

        still = face_frame_fn()(0, 1, 640, 480)
        image = bytes(cv2.imencode(".jpg", cv2.cvtColor(still, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, 80])[1])
        server = start_server(port, args.workers, Path(tmp) / "server.log")
        try:
            figures["live"] = live(url, y4m, args.seconds, chromium)
            figures["process"] = [asyncio.run(post_load(url, image, n, min(args.seconds, 8.0)))
                                  for n in (1, 4, 16)]
        finally:
            stop(server)
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


def show(figures: dict) -> None:
    lv = figures["live"]
    print(f"mediagraph serve, face_detection_live, {figures['cores']} cores shared with "
          f"Chromium, --workers {figures['workers']}")
    print(f"live 640x480 camera at 30 fps, {figures['seconds']:g} s: {lv['fps']:.1f} frames/s "
          f"shown, glass-to-glass p50 {lv['p50_ms']:.0f} ms p95 {lv['p95_ms']:.0f} ms "
          f"({lv['frames']} frames; clock: {lv['clock']}), dropped: {lv['dropped_page']} by "
          f"the page, {lv['dropped_server']} by the server; server time p50 "
          f"{lv['server_p50_ms']:.1f} ms; page errors {lv['errors']}")
    print("POST /process (640x480 JPEG):  clients  requests/s  p50 ms  p95 ms  failures")
    for row in figures["process"]:
        print(f"{'':30s}{row['clients']:7d}  {row['requests_s']:10.1f}  {row['p50_ms']:6.1f}  "
              f"{row['p95_ms']:6.1f}  {row['failures']:8d}")


if __name__ == "__main__":
    main()
