"""BeginLoopCalculator / EndLoopCalculator: run a graph section once per list item.

MediaPipe registers one C++ template instance per element type
(`BeginLoopNormalizedRectCalculator`, `EndLoopDetectionCalculator`, ...); Python needs
one class, and the typed names are registered as aliases so MediaPipe graphs load.
"""

from __future__ import annotations

from typing import Any

from mediagraph.calculators.core._typed_names import typed_names
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Inputs,
    NodeConfig,
    Output,
    Outputs,
    Timestamp,
)


class BeginLoopCalculator(Calculator):
    """Emit each element of an ITERABLE packet as an ITEM at loop-internal timestamps.

    Items get consecutive timestamps from a counter that starts at 0 and never goes back,
    so one input packet's items sit between the previous BATCH_END and its own.
    BATCH_END is emitted at the last item's timestamp and carries the input's Timestamp;
    EndLoopCalculator re-emits the collected results there. An empty collection (or a
    bound-only update of ITERABLE) uses up one loop timestamp that carries only BATCH_END.
    CLONE inputs are copied to the matching CLONE output at every item timestamp.

    Inputs:  ITERABLE (a list or other iterable); CLONE:i (any, optional);
             TICK (any, optional, deprecated: bound updates wake the calculator anyway)
    Outputs: ITEM (an element); BATCH_END (Timestamp); CLONE:i (same as CLONE:i input)
    Options: none

    Example config:
        node {
          calculator: "BeginLoopNormalizedRectCalculator"
          input_stream: "ITERABLE:hand_rects"
          input_stream: "CLONE:image"
          output_stream: "ITEM:hand_rect"
          output_stream: "CLONE:image_per_hand"
          output_stream: "BATCH_END:hand_rects_timestamp"
        }
    """

    process_timestamp_bounds = True
    timestamp_offset = None  # outputs run on loop time, not input time

    iterable = Input(tag="ITERABLE")
    tick = Input(tag="TICK", optional=True)
    clone_in = Inputs(tag="CLONE")
    item = Output(tag="ITEM")
    batch_end = Output(Timestamp, tag="BATCH_END")
    clone_out = Outputs(tag="CLONE")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        n = node.count(cls.clone_in)
        if node.count(cls.clone_out) != n:
            raise ValueError(f"{n} CLONE inputs but {node.count(cls.clone_out)} CLONE outputs")

    def open(self, cc: CalculatorContext) -> None:
        n = cc.count(self.clone_in)
        self._clones = [(self.clone_in[i], self.clone_out[i]) for i in range(n)]
        self._loop_ts = 0

    def process(self, cc: CalculatorContext) -> None:
        first = self._loop_ts
        collection = cc.get(self.iterable)
        if collection is not None:
            for element in collection:
                cc.send(self.item, element, timestamp=self._loop_ts)
                for src, dst in self._clones:
                    packet = cc.packet(src)
                    if packet is not None:
                        cc.send(dst, packet[0], timestamp=self._loop_ts)
                self._loop_ts += 1
        if self._loop_ts == first:  # nothing to iterate: use up one timestamp for BATCH_END
            self._loop_ts += 1
            cc.set_next_timestamp_bound(self.item, self._loop_ts)
            for _, dst in self._clones:
                cc.set_next_timestamp_bound(dst, self._loop_ts)
        cc.send(self.batch_end, cc.input_timestamp, timestamp=self._loop_ts - 1)


class EndLoopCalculator(Calculator):
    """Collect ITEM packets into a list, emitted at the timestamp BATCH_END carries.

    A BATCH_END without any ITEM since the last one emits nothing and moves ITERABLE's
    bound past that timestamp instead.

    Inputs:  ITEM (an element, at loop timestamps); BATCH_END (Timestamp, from BeginLoop)
    Outputs: ITERABLE (list of the ITEMs, at the original input timestamp)
    Options: none

    Example config:
        node {
          calculator: "EndLoopNormalizedRectCalculator"
          input_stream: "ITEM:hand_rect_from_landmarks"
          input_stream: "BATCH_END:hand_rects_timestamp"
          output_stream: "ITERABLE:hand_rects_from_landmarks"
        }
    """

    timestamp_offset = None  # the output runs on input time, not loop time

    item = Input(tag="ITEM")
    batch_end = Input(Timestamp, tag="BATCH_END")
    iterable = Output(list, tag="ITERABLE")

    def open(self, cc: CalculatorContext) -> None:
        self._collected: list[Any] | None = None

    def process(self, cc: CalculatorContext) -> None:
        item = cc.packet(self.item)
        if item is not None:
            if self._collected is None:
                self._collected = []
            self._collected.append(item[0])
        end = cc.get(self.batch_end)
        if end is None:
            return
        if self._collected is not None:
            cc.send(self.iterable, self._collected, timestamp=int(end))
            self._collected = None
        else:
            cc.set_next_timestamp_bound(self.iterable, int(end) + 1)


# MediaPipe's registered template instances (begin/end_loop_calculator.cc).
BEGIN_LOOP_ALIASES = typed_names(BeginLoopCalculator, [
    f"BeginLoop{kind}Calculator" for kind in (
    "NormalizedLandmarkListVector", "Int", "NormalizedRect", "Detection", "Matrix",
    "MatrixVector", "Uint64t", "Tensor", "ImageFrame", "GpuBuffer", "Image", "ModelApiTensor")])
END_LOOP_ALIASES = typed_names(EndLoopCalculator, [
    f"EndLoop{kind}Calculator" for kind in (
    "NormalizedRect", "LandmarkListVector", "NormalizedLandmarkListVector", "Boolean",
    "RenderData", "ClassificationList", "Detection", "Matrix", "Tensor", "ImageFrame",
    "GpuBuffer", "Image", "AffineMatrix", "ImageSize", "Float", "Int", "Uint64t")])
