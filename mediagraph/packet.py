"""Packets: an immutable (value, timestamp) pair.

Payloads are shared between consumers, never copied; a numpy array becomes
read-only when it is put in a packet so no consumer can change what another sees.
Making the pair a tuple keeps construction and field access in C on the hot path.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from mediagraph.timestamp import Timestamp

try:  # numpy is a core dependency, but keep Packet importable without it.
    from numpy import ndarray as _ndarray
except ImportError:  # pragma: no cover
    _ndarray = ()  # type: ignore[assignment]


class Packet(tuple):
    """An immutable payload at a timestamp.

    `Packet(value, ts)`; `packet.value`, `packet.timestamp`; `packet.at(ts)` gives a
    new packet with the same payload. A packet whose `value` is None at a stream's
    bound is how observers of timestamp bounds learn that the bound moved.
    """

    __slots__ = ()

    def __new__(cls, value: Any, timestamp: int | Timestamp = Timestamp.UNSET) -> Packet:
        if isinstance(value, _ndarray) and value.flags.writeable:
            value.flags.writeable = False
        if type(timestamp) is not Timestamp:
            timestamp = Timestamp(timestamp)
        return tuple.__new__(cls, (value, timestamp))

    value: Any = property(itemgetter(0))  # type: ignore[assignment]
    timestamp: Timestamp = property(itemgetter(1))  # type: ignore[assignment]

    def at(self, timestamp: int | Timestamp) -> Packet:
        return Packet(self[0], timestamp)

    def __repr__(self) -> str:
        value = repr(self[0])
        if len(value) > 60:
            value = value[:57] + "..."
        return f"Packet({value}, {self[1]!r})"

    def __getnewargs__(self) -> tuple[Any, Timestamp]:
        return (self[0], self[1])


def _make(value: Any, timestamp: Timestamp) -> Packet:
    """Hot-path constructor: `timestamp` must already be a Timestamp."""
    if isinstance(value, _ndarray) and value.flags.writeable:
        value.flags.writeable = False
    return tuple.__new__(Packet, (value, timestamp))
