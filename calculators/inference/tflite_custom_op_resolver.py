"""TfLiteCustomOpResolverCalculator: MediaPipe's OP_RESOLVER side packet, as a marker."""

from __future__ import annotations

from typing import Any

from mediagraph import Calculator, CalculatorContext, Options, SideOutput, Stop, option


class TfLiteCustomOpResolverCalculatorOptions(
        Options, proto_name="mediapipe.TfLiteCustomOpResolverCalculatorOptions",
        extension=252087553):
    """MediaPipe's `tflite_custom_op_resolver_calculator.proto`."""

    use_gpu: bool = option(1, default=False, doc="MediaPipe: the GPU op resolver; no effect")


class OpResolver:
    """What OP_RESOLVER carries: a marker. LiteRT's XNNPACK delegate (on by default)
    runs MediaPipe's Convolution2DTransposeBias, the custom op of the selfie models, and
    their ONNX twins use ConvTranspose, so InferenceCalculator accepts and ignores it."""

    __slots__ = ("use_gpu",)

    def __init__(self, use_gpu: bool = False) -> None:
        self.use_gpu = use_gpu

    def __repr__(self) -> str:
        return f"OpResolver(use_gpu={self.use_gpu})"


class TfLiteCustomOpResolverCalculator(Calculator):
    """Output the op resolver MediaPipe's inference nodes take as OP_RESOLVER.

    MediaPipe builds a TFLite op resolver with its custom ops here; mediagraph's
    backends need none, so the side packet is an `OpResolver` marker kept for config
    compatibility (MediaPipe's selfie segmentation graphs wire it).

    Inputs:  none
    Outputs: none
    Side outputs: OP_RESOLVER (OpResolver)
    Options: TfLiteCustomOpResolverCalculatorOptions: use_gpu (recorded, no effect)

    Example config:
        node {
          calculator: "TfLiteCustomOpResolverCalculator"
          output_side_packet: "OP_RESOLVER:op_resolver"
        }
    """

    Options = TfLiteCustomOpResolverCalculatorOptions

    op_resolver = SideOutput(OpResolver)

    def open(self, cc: CalculatorContext) -> None:
        cc.set_side(self.op_resolver, OpResolver(self.options.use_gpu))

    def process(self, cc: CalculatorContext) -> Any:
        return Stop  # a side-packet source: nothing to stream
