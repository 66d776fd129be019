"""StabilizedLogCalculator: output_scale * log(x + stabilizer), element-wise (MediaPipe's)."""

from __future__ import annotations

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import Matrix


class StabilizedLogCalculatorOptions(
        Options, proto_name="mediapipe.StabilizedLogCalculatorOptions", extension=101978339):
    """MediaPipe's `stabilized_log_calculator.proto` (same field numbers)."""

    stabilizer: float = option(1, default=0.00001, doc=">= 0; 0: no stabilization")
    check_nonnegativity: bool = option(2, default=True, doc="fail on negative inputs")
    output_scale: float = option(3, default=1.0, proto="double")

    def check(self) -> None:
        if self.stabilizer < 0:
            raise ValueError(f"stabilizer must be >= 0, got {self.stabilizer}")


class StabilizedLogCalculator(Calculator):
    """Natural log of every element plus a stabilizer, times output_scale.

    With check_nonnegativity (the default) a negative input value fails the run, naming
    the node and the timestamp; otherwise the log of a negative sum is NaN, as in numpy.

    Inputs:  untagged Matrix (float 2-D numpy array, e.g. a spectrogram frame)
    Outputs: untagged Matrix (float32, same shape)
    Options: StabilizedLogCalculatorOptions (MediaPipe's, ext 101978339): stabilizer (1,
             default 1e-5), check_nonnegativity (2, default true), output_scale (3, 1.0)

    Example config:
        node { calculator: "StabilizedLogCalculator" input_stream: "spectrogram"
               output_stream: "log_spectrogram"
               options { [mediapipe.StabilizedLogCalculatorOptions.ext] {
                 stabilizer: 0.001 output_scale: 10 } } }
    """

    Options = StabilizedLogCalculatorOptions

    matrix = Input(Matrix, tag="")
    out = Output(Matrix, tag="")

    def process(self, cc: CalculatorContext) -> None:
        value = cc.get(self.matrix)
        if value is None:
            return
        if not isinstance(value, np.ndarray):
            raise TypeError(f"node '{cc.node_name}' input 0 at {cc.input_timestamp}: needs a "
                            f"Matrix (numpy array), got {type(value).__name__}")
        opts = self.options
        if opts.check_nonnegativity and value.size and value.min() < 0:
            raise ValueError(f"node '{cc.node_name}' input 0 at {cc.input_timestamp}: negative "
                             f"value {value.min():g} (check_nonnegativity is set)")
        with np.errstate(invalid="ignore", divide="ignore"):
            result = np.log(value.astype(np.float64) + opts.stabilizer) * opts.output_scale
        cc.send(self.out, result.astype(np.float32))
