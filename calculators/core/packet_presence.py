"""PacketPresenceCalculator: whether a stream has a packet at each settled timestamp."""

from __future__ import annotations

from mediagraph import Calculator, CalculatorContext, Input, Output


class PacketPresenceCalculator(Calculator):
    """Send True when PACKET has a packet at this timestamp, False when only its bound moved.

    `process` also runs on timestamp bounds (MediaPipe's SetProcessTimestampBounds), so an
    absent packet still gets its False: pose_landmark_cpu.pbtxt gates pose detection on
    whether the previous frame's ROI is present.

    Inputs:  PACKET (any)
    Outputs: PRESENCE (bool)
    Options: none

    Example config (MediaPipe's pose_landmark_cpu.pbtxt):
        node {
          calculator: "PacketPresenceCalculator"
          input_stream: "PACKET:gated_prev_pose_rect_from_landmarks"
          output_stream: "PRESENCE:prev_pose_rect_from_landmarks_is_present"
        }
    """

    process_timestamp_bounds = True

    packet = Input(tag="PACKET")
    presence = Output(bool, tag="PRESENCE")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.presence, cc.get(self.packet) is not None)
