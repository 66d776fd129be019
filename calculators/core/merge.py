"""MergeCalculator: one stream from several, first present input wins."""

from __future__ import annotations

import logging

from mediagraph import Calculator, CalculatorContext, Inputs, Output, at_least_one

log = logging.getLogger(__name__)


class MergeCalculator(Calculator):
    """At each timestamp, forward the packet of the first input that has one.

    Inputs are synchronized by the default handler, so at a timestamp where several
    inputs have packets the lowest index wins and the others are dropped: an order of
    preference MediaPipe's own graphs rely on (HandWristForPose prefers the hand model's
    wrist to the pose's), so it is logged at debug level only, once, as MediaPipe does
    not log it at all.

    Inputs:  untagged streams (any), at least one
    Outputs: untagged: the merged stream
    Options: none

    Example config:
        node {
          calculator: "MergeCalculator"
          input_stream: "detections_from_model"
          input_stream: "detections_from_tracker"
          output_stream: "detections"
        }
    """

    inputs = Inputs(tag="")
    merged = Output(tag="")
    groups = (at_least_one(inputs, message="MergeCalculator needs at least one untagged input"),)

    def open(self, cc: CalculatorContext) -> None:
        n = cc.count(self.inputs)
        self._ports = [self.inputs[i] for i in range(n)]
        self._warned = False

    def process(self, cc: CalculatorContext) -> None:
        present = [p for p in (cc.packet(port) for port in self._ports) if p is not None]
        if not present:
            return
        if len(present) > 1 and not self._warned:
            log.debug("node '%s': %d inputs have packets at %s; MergeCalculator keeps the "
                        "first", cc.node_name, len(present), cc.input_timestamp)
            self._warned = True
        cc.send(self.merged, present[0][0])
