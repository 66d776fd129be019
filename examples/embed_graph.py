"""Embed a graph in an application: feed it from your thread, poll results with timeouts.

The graph is built in Python, runs on its own threads, throttles the producer when
its queues fill, and stops cleanly on Ctrl-C.

    python examples/embed_graph.py
"""

from __future__ import annotations

import mediagraph as mg


@mg.calculator
def square(value: int) -> int:
    return value * value


def build() -> mg.GraphBuilder:
    b = mg.GraphBuilder(max_queue_size=4)
    b.input_stream("numbers")
    b.node(square, inputs={"VALUE": "numbers"}, outputs={"OUTPUT": "squares"})
    b.output_stream("squares")
    return b


def main() -> None:
    graph = mg.Graph(build())
    results = graph.poll("squares")
    graph.start_run()
    try:
        for i in range(10):
            graph.add_packet("numbers", i, timestamp=i, timeout=5.0)  # blocks while full
        graph.close_all_inputs()
        while (packet := results.next(timeout=5.0)) is not None:
            print(f"{packet.timestamp}: {packet.value}")
        graph.wait_until_done(timeout=5.0)
    except KeyboardInterrupt:
        graph.cancel()
        raise


if __name__ == "__main__":
    main()
