"""PacketPresenceCalculator: True where PACKET has a packet, False where only its bound moved."""

from __future__ import annotations

import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401

pytestmark = pytest.mark.timeout(60)


def test_an_absent_packet_reads_as_false():
    # the gate drops the packet at 1 and only moves its bound: presence still says False
    graph = mg.Graph("""
        input_stream: "x" input_stream: "allow" output_stream: "present"
        node { calculator: "GateCalculator" input_stream: "x" input_stream: "ALLOW:allow"
               output_stream: "gated" }
        node { calculator: "PacketPresenceCalculator" input_stream: "PACKET:gated"
               output_stream: "PRESENCE:present" }""")
    out = graph.run({"x": [("a", 0), ("b", 1), ("c", 2), ("d", 3)],
                     "allow": [(True, 0), (False, 1), (True, 2), (False, 3)]}, timeout=30)
    assert [(p.value, p.timestamp) for p in out["present"]] == [
        (True, 0), (False, 1), (True, 2), (False, 3)]
