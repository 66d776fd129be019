"""TensorsToFloatsCalculator: a tensor's values as a float (or a list of floats)."""

from __future__ import annotations

import enum

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output, at_least_one, option


class FloatActivation(enum.IntEnum):
    """`TensorsToFloatsCalculatorOptions.Activation`."""

    NONE = 0
    SIGMOID = 1


class TensorsToFloatsCalculatorOptions(
        Options, proto_name="mediapipe.TensorsToFloatsCalculatorOptions", extension=343499115):
    """MediaPipe's `tensors_to_floats_calculator.proto`."""

    activation: FloatActivation = option(1, default=FloatActivation.NONE)


class TensorsToFloatsCalculator(Calculator):
    """Read the first tensor's values, optionally through a sigmoid.

    FLOAT needs a one-value tensor; FLOATS takes any size (flattened).

    Inputs:  TENSORS (list of numpy arrays; the first is read)
    Outputs: FLOAT (float) and/or FLOATS (list of float)
    Options: TensorsToFloatsCalculatorOptions (ext 343499115): activation (NONE, SIGMOID)

    Example config (MediaPipe's hand_landmark_cpu.pbtxt):
        node {
          calculator: "TensorsToFloatsCalculator"
          input_stream: "TENSORS:hand_flag_tensor"
          output_stream: "FLOAT:hand_presence_score"
        }
    """

    Options = TensorsToFloatsCalculatorOptions

    tensors = Input(list, tag="TENSORS")
    float_out = Output(float, tag="FLOAT", optional=True)
    floats_out = Output(list, tag="FLOATS", optional=True)
    groups = (at_least_one(float_out, floats_out, message="connect FLOAT or FLOATS"),)

    def process(self, cc: CalculatorContext) -> None:
        tensors = cc.get(self.tensors)
        if not tensors:
            return
        values = np.asarray(tensors[0], dtype=np.float64).reshape(-1)
        if self.options.activation == FloatActivation.SIGMOID:
            values = 1.0 / (1.0 + np.exp(-values))
        if cc.connected(self.float_out):
            if values.size != 1:
                raise ValueError(f"FLOAT needs a tensor of one value, got {values.size}; "
                                 "use FLOATS")
            cc.send(self.float_out, float(values[0]))
        cc.send(self.floats_out, values.tolist())
