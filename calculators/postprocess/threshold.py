"""ThresholdingCalculator: compare a float with a threshold."""

from __future__ import annotations

from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    NodeConfig,
    Options,
    Output,
    SideInput,
    option,
)


class ThresholdingCalculatorOptions(
        Options, proto_name="mediapipe.ThresholdingCalculatorOptions", extension=259990498):
    """MediaPipe's `thresholding_calculator.proto`."""

    threshold: float | None = option(1, default=None, proto="double")


class ThresholdingCalculator(Calculator):
    """FLAG is `value > threshold`; ACCEPT (true) or REJECT (false) fire on either side.

    The threshold comes from exactly one of the THRESHOLD input stream (the latest
    value holds), the THRESHOLD side packet or the `threshold` option (0 when none).
    A value equal to the threshold is rejected, as in MediaPipe.

    Inputs:  FLOAT (float); THRESHOLD (float, optional)
    Outputs: FLAG (bool), ACCEPT (bool), REJECT (bool), each optional
    Side inputs: THRESHOLD (float, optional)
    Options: ThresholdingCalculatorOptions (ext 259990498): threshold

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "ThresholdingCalculator"
          input_stream: "FLOAT:hand_presence_score"
          output_stream: "FLAG:hand_presence"
          options { [mediapipe.ThresholdingCalculatorOptions.ext] { threshold: 0.5 } }
        }
    """

    Options = ThresholdingCalculatorOptions

    value = Input(float, tag="FLOAT")
    threshold_stream = Input(float, tag="THRESHOLD", optional=True)
    threshold_side = SideInput(float, tag="THRESHOLD", optional=True)
    flag = Output(bool, tag="FLAG", optional=True)
    accept = Output(bool, tag="ACCEPT", optional=True)
    reject = Output(bool, tag="REJECT", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        sources = [node.options.threshold is not None, node.connected(cls.threshold_stream),
                   node.connected(cls.threshold_side)]
        if sum(sources) > 1:
            raise ValueError("set the threshold once: option, THRESHOLD stream or "
                             "THRESHOLD side packet")

    def open(self, cc: CalculatorContext) -> None:
        self._threshold = float(cc.side(self.threshold_side, self.options.threshold or 0.0))

    def process(self, cc: CalculatorContext) -> None:
        threshold = cc.get(self.threshold_stream)
        if threshold is not None:
            self._threshold = float(threshold)
        value = cc.get(self.value)
        if value is None:
            return
        accepted = float(value) > self._threshold
        cc.send(self.flag, accepted)
        if accepted:
            cc.send(self.accept, True)
        else:
            cc.send(self.reject, False)
