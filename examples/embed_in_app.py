"""Embed a graph in your app: push frames from your own loop, read results from a poller.

The graph runs on its own threads; `add_packet` blocks while its queues are full (so a
fast producer is throttled, never dropped), and the poller hands results back in
timestamp order with a timeout, so your loop never hangs. The poller is bounded like
every queue (the graph's max_queue_size): read it while you feed, here on a second thread,
or the graph waits for you.

    python examples/embed_in_app.py
"""

from __future__ import annotations

import threading

import numpy as np

import mediagraph as mg
from mediagraph.formats import ImageFrame

CONFIG = """
input_stream: "frames"
max_queue_size: 4
node { calculator: "EdgeDetectionCalculator" input_stream: "IMAGE:frames"
       output_stream: "IMAGE:edges" }
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE:edges"
       output_stream: "SIZE:size" }
"""


def make_frame(i: int) -> ImageFrame:
    """A moving white square on black, standing in for your camera or renderer."""
    pixels = np.zeros((120, 160, 3), np.uint8)
    x = 10 + 5 * i
    pixels[40:80, x:x + 40] = 255
    return ImageFrame.from_ndarray(pixels)


def show_results(edges: mg.OutputStreamPoller) -> None:
    """Your consumer: each result as it comes, until the stream ends."""
    while (packet := edges.next(timeout=5.0)) is not None:
        edge_pixels = int((packet.value.to_ndarray() > 0).any(axis=2).sum())
        print(f"t={packet.timestamp.seconds:.3f}s edge pixels={edge_pixels}")


def main() -> None:
    graph = mg.Graph(CONFIG)
    edges = graph.poll("edges")
    graph.start_run()
    reader = threading.Thread(target=show_results, args=(edges,))
    reader.start()
    try:
        for i in range(10):
            graph.add_packet("frames", make_frame(i), timestamp=i * 33_333, timeout=5.0)
        graph.close_all_inputs()
        graph.wait_until_done(timeout=5.0)
    except BaseException:
        graph.cancel()
        raise
    finally:
        reader.join(timeout=10.0)


if __name__ == "__main__":
    main()
