"""Timestamps and packets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagraph import Packet, Timestamp

SPECIALS = [Timestamp.UNSET, Timestamp.UNSTARTED, Timestamp.PRE_STREAM, Timestamp.MIN,
            Timestamp.MAX, Timestamp.POST_STREAM, Timestamp.ONE_OVER_POST_STREAM, Timestamp.DONE]


def test_special_values_match_mediapipe():
    low, high = -(2**63), 2**63 - 1
    assert [int(t) for t in SPECIALS] == [low, low + 1, low + 2, low + 3, high - 3, high - 2,
                                          high - 1, high]


def test_special_values_are_ordered_around_range_values():
    assert SPECIALS[:4] == sorted(SPECIALS[:4])
    assert Timestamp.MIN < Timestamp(0) < Timestamp(10**12) < Timestamp.MAX
    assert sorted(SPECIALS + [Timestamp(5)]) == SPECIALS[:4] + [Timestamp(5)] + SPECIALS[4:]


def test_value_seconds_and_conversions():
    ts = Timestamp.from_seconds(1.5)
    assert int(ts) == ts.value == 1_500_000 and ts.seconds == 1.5
    assert Timestamp.from_seconds(1 / 3).value == 333_333
    assert repr(Timestamp.DONE) == "Timestamp.DONE" and str(Timestamp(7)) == "7"


def test_next_allowed_in_stream():
    assert Timestamp(5).next_allowed_in_stream() == 6
    assert Timestamp.PRE_STREAM.next_allowed_in_stream() == Timestamp.ONE_OVER_POST_STREAM
    assert Timestamp.MAX.next_allowed_in_stream() == Timestamp.ONE_OVER_POST_STREAM
    assert Timestamp.POST_STREAM.next_allowed_in_stream() == Timestamp.ONE_OVER_POST_STREAM


def test_allowed_in_stream():
    assert Timestamp(0).is_allowed_in_stream() and Timestamp.PRE_STREAM.is_allowed_in_stream()
    assert Timestamp.POST_STREAM.is_allowed_in_stream()
    assert not Timestamp.UNSET.is_allowed_in_stream() and not Timestamp.DONE.is_allowed_in_stream()


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_timestamp_rejects_non_integers(bad):
    with pytest.raises(TypeError):
        Timestamp(bad)


def test_timestamp_rejects_overflow():
    with pytest.raises(OverflowError):
        Timestamp(2**63)


@given(st.integers(-(2**63) + 4, 2**63 - 5), st.integers(-(2**63) + 4, 2**63 - 5))
def test_timestamp_orders_like_ints(a, b):
    assert (Timestamp(a) < Timestamp(b)) == (a < b)
    assert hash(Timestamp(a)) == hash(a)


def test_packet_is_immutable():
    packet = Packet({"a": 1}, 3)
    with pytest.raises(AttributeError):
        packet.value = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        packet.timestamp = 4  # type: ignore[misc]
    moved = packet.at(10)
    assert moved.value is packet.value and int(moved.timestamp) == 10 and int(packet.timestamp) == 3
    assert isinstance(moved.timestamp, Timestamp)


def test_numpy_payload_is_frozen():
    array = np.zeros((2, 2))
    packet = Packet(array, 0)
    with pytest.raises(ValueError):
        packet.value[0, 0] = 1
    assert array.flags.writeable is False


def test_packet_repr_is_short():
    assert len(repr(Packet("x" * 1000, 1))) < 100


def test_numpy_integers_are_timestamps_and_numpy_bools_are_not():
    import numpy as np

    assert Timestamp(np.int64(42)) == 42 and type(Timestamp(np.int32(7)).value) is int
    assert Timestamp(np.uint16(3)) == 3
    for bad in (np.bool_(True), True, 1.0, np.float64(2.0), "3"):
        with pytest.raises(TypeError, match="int microseconds"):
            Timestamp(bad)


def test_a_graph_takes_numpy_timestamps():
    import numpy as np

    import mediagraph as mg

    graph = mg.Graph('input_stream: "a" node { calculator: "PassThroughCalculator" '
                     'input_stream: "a" output_stream: "b" }')
    out = graph.run({"a": [(1, np.int64(5)), (2, np.int64(9))]}, timeout=10)
    assert [int(p.timestamp) for p in out["b"]] == [5, 9]
