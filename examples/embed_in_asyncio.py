"""Embed a graph in an asyncio app: feed it and read it without blocking the event loop.

`graph.arun()` runs the graph on its own threads; `await run.add_packet(...)` waits while
the graph is full (back-pressure holds the feeding task, never the loop), and
`async for packet in run.stream(...)` hands results back in timestamp order. Here a
heartbeat task keeps ticking throughout to show that the loop stays free, as a web
server's other requests would. Cancelling the task that runs the graph cancels the run
and closes every node.

    python examples/embed_in_asyncio.py
"""

from __future__ import annotations

import asyncio

import numpy as np

import mediagraph as mg
from mediagraph.formats import ImageFrame

CONFIG = """
input_stream: "frames"
output_stream: "size"
max_queue_size: 2
node { calculator: "EdgeDetectionCalculator" input_stream: "IMAGE:frames"
       output_stream: "IMAGE:edges" }
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE:edges"
       output_stream: "SIZE:size" }
"""


def make_frame(i: int) -> ImageFrame:
    """A moving white square on black, standing in for your camera or an upload."""
    pixels = np.zeros((240, 320, 3), np.uint8)
    pixels[80:160, 10 + 10 * i:90 + 10 * i] = 255
    return ImageFrame.from_ndarray(pixels)


async def heartbeat(ticks: list[float]) -> None:
    """Another task of your app: it only runs while nothing blocks the loop."""
    loop = asyncio.get_running_loop()
    while True:
        ticks.append(loop.time())
        await asyncio.sleep(0.01)


async def main() -> None:
    graph = mg.Graph(CONFIG)
    ticks: list[float] = []
    beat = asyncio.create_task(heartbeat(ticks))
    async with graph.arun() as run:
        async def feed() -> None:
            for i in range(10):
                await run.add_packet("frames", make_frame(i), timestamp=i * 33_333)
            run.close_all_inputs()

        feeder = asyncio.create_task(feed())
        async for packet in run.stream("size"):
            width, height = packet.value
            print(f"t={packet.timestamp.seconds:.3f}s size={width}x{height}")
        await feeder
        await run.wait()
    beat.cancel()
    longest = max(b - a for a, b in zip(ticks, ticks[1:]))
    print(f"heartbeat ticked {len(ticks)} times; longest pause {longest * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
