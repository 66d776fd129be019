"""MakePairCalculator: joins two streams into a stream of pairs."""

from __future__ import annotations

from mediagraph import Calculator, CalculatorContext, Inputs, NodeConfig, Output


class MakePairCalculator(Calculator):
    """Emit `(first, second)` at every timestamp where either input has a packet.

    MediaPipe's pair holds two packets, either possibly empty; here an absent input is
    None in the tuple.

    Inputs:  two untagged streams (any)
    Outputs: untagged: tuple (first value or None, second value or None)
    Options: none

    Example config:
        node {
          calculator: "MakePairCalculator"
          input_stream: "image"
          input_stream: "detections"
          output_stream: "image_and_detections"
        }
    """

    inputs = Inputs(tag="")
    pair = Output(tuple, tag="")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.inputs) != 2:
            raise ValueError(f"MakePairCalculator takes 2 untagged inputs, not "
                             f"{node.count(cls.inputs)}")

    def open(self, cc: CalculatorContext) -> None:
        self._first, self._second = self.inputs[0], self.inputs[1]

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.pair, (cc.get(self._first), cc.get(self._second)))
