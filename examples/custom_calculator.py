"""Write a calculator with options and run it from a MediaPipe-style config.

Its rules are declarations, not checks in `open()`: `Options.check()` says which option
values work (as `groups = (mg.one_of(a, b),)` would say which ports go together), so a
bad config fails when the graph is built, naming the file:line and node.

    python examples/custom_calculator.py
"""

from __future__ import annotations

import mediagraph as mg


class MovingAverageCalculator(mg.Calculator):
    """Average of the last `window` values.

    Inputs:  VALUE (float)
    Outputs: AVERAGE (float)
    Options: window (int, default 3)
    """

    class Options(mg.Options):
        window: int = 3

        def check(self) -> None:
            if self.window < 1:
                raise ValueError(f"window must be at least 1, got {self.window}")

    value = mg.Input(float)
    average = mg.Output(float)

    def open(self, cc: mg.CalculatorContext) -> None:
        self.recent: list[float] = []

    def process(self, cc: mg.CalculatorContext) -> None:
        self.recent = (self.recent + [cc.get(self.value)])[-self.options.window:]
        cc.send(self.average, sum(self.recent) / len(self.recent))


CONFIG = """
input_stream: "readings"
node {
  calculator: "MovingAverageCalculator"
  input_stream: "VALUE:readings"
  output_stream: "AVERAGE:smooth"
  node_options {
    [type.googleapis.com/mediagraph.MovingAverageCalculator.Options] { window: 2 }
  }
}
"""


def main() -> None:
    graph = mg.Graph(CONFIG)
    readings = [(v, t * 1000) for t, v in enumerate([1.0, 3.0, 5.0, 7.0])]
    for packet in graph.run({"readings": readings}, timeout=10)["smooth"]:
        print(f"t={packet.timestamp.seconds:.3f}s average={packet.value}")
    try:
        mg.Graph(CONFIG.replace("window: 2", "window: 0"))
    except mg.GraphConfigError as error:
        print(f"rejected before running: {error}")


if __name__ == "__main__":
    main()
