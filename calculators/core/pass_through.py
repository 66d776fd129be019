"""PassThroughCalculator: forwards each input to the output at the same index."""

from __future__ import annotations

from mediagraph import Calculator, CalculatorContext, Inputs, NodeConfig, Outputs


class PassThroughCalculator(Calculator):
    """Forward packets unchanged: input i goes to output i (MediaPipe's name and wiring).

    Inputs:  any number, untagged or tagged (each tag's index i maps to the same tag's i)
    Outputs: one per input, same tag and index
    Options: none

    Example config:
        node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }
    """

    inputs = Inputs(tag="")
    outputs = Outputs(tag="")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if node.count(cls.inputs) != node.count(cls.outputs):
            raise ValueError(f"{node.count(cls.inputs)} inputs but {node.count(cls.outputs)} "
                             "outputs; PassThroughCalculator needs one output per input")

    def open(self, cc: CalculatorContext) -> None:
        self._pairs = [(self.inputs[i], self.outputs[i]) for i in range(cc.count(self.inputs))]
        self._one = self._pairs[0] if len(self._pairs) == 1 else None

    def process(self, cc: CalculatorContext) -> None:
        if self._one is not None:  # the common case, kept short
            src, dst = self._one
            packet = cc.packet(src)
            if packet is not None:
                cc.send_packet(dst, packet)
            return
        for src, dst in self._pairs:
            packet = cc.packet(src)
            if packet is not None:
                cc.send_packet(dst, packet)
