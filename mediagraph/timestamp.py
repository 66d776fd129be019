"""Timestamps: int microseconds with MediaPipe's special values and ordering.

A `Timestamp` is an `int` subclass so comparisons and hashing stay C-fast on the
hot path; arithmetic gives plain ints (wrap with `Timestamp(...)` where the type matters). The special values sit at
the ends of the int64 range exactly as in MediaPipe's `timestamp.h`:

    UNSET < UNSTARTED < PRE_STREAM < MIN < ...range values... < MAX
          < POST_STREAM < ONE_OVER_POST_STREAM < DONE
"""

from __future__ import annotations

import numbers

from typing import ClassVar

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class Timestamp(int):
    """A point in a stream, in microseconds."""

    __slots__ = ()

    UNSET: ClassVar[Timestamp]
    UNSTARTED: ClassVar[Timestamp]
    PRE_STREAM: ClassVar[Timestamp]
    MIN: ClassVar[Timestamp]
    MAX: ClassVar[Timestamp]
    POST_STREAM: ClassVar[Timestamp]
    ONE_OVER_POST_STREAM: ClassVar[Timestamp]
    DONE: ClassVar[Timestamp]

    def __new__(cls, value: int = _INT64_MIN) -> Timestamp:
        if value.__class__ is not int and not isinstance(value, Timestamp):
            # numpy's integers (np.int64 from an array of times) are integers too
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or type(value).__name__ == "bool_":
                raise TypeError(f"Timestamp takes int microseconds, not "
                                f"{type(value).__name__}: use Timestamp.from_seconds() for "
                                "seconds")
            value = int(value)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise OverflowError(f"timestamp {value} is outside int64")
        return int.__new__(cls, value)

    @classmethod
    def from_seconds(cls, seconds: float) -> Timestamp:
        """The timestamp nearest to `seconds` (rounded to the microsecond)."""
        return cls(round(seconds * 1_000_000))

    @property
    def value(self) -> int:
        """Microseconds as a plain int."""
        return int(self)

    @property
    def seconds(self) -> float:
        return int(self) / 1_000_000

    @property
    def microseconds(self) -> int:
        return int(self)

    def is_special(self) -> bool:
        """True for the named values outside [MIN, MAX]."""
        return not _MIN <= self <= _MAX

    def is_range_value(self) -> bool:
        return _MIN <= self <= _MAX

    def is_allowed_in_stream(self) -> bool:
        """Range values plus PRE_STREAM and POST_STREAM may carry packets."""
        return _MIN <= self <= _MAX or self == _PRE or self == _POST

    def next_allowed_in_stream(self) -> Timestamp:
        """The bound after a packet at this timestamp (MediaPipe's NextAllowedInStream)."""
        if self >= _MAX or self == _PRE:
            return Timestamp.ONE_OVER_POST_STREAM
        return Timestamp(int(self) + 1)

    def previous_allowed_in_stream(self) -> Timestamp:
        if self <= _MIN or self == _POST:
            return Timestamp.UNSTARTED
        return Timestamp(int(self) - 1)

    def __repr__(self) -> str:
        name = _NAMES.get(int(self))
        return f"Timestamp.{name}" if name else f"Timestamp({int(self)})"

    def __str__(self) -> str:
        name = _NAMES.get(int(self))
        return name if name else str(int(self))


Timestamp.UNSET = Timestamp(_INT64_MIN)
Timestamp.UNSTARTED = Timestamp(_INT64_MIN + 1)
Timestamp.PRE_STREAM = Timestamp(_INT64_MIN + 2)
Timestamp.MIN = Timestamp(_INT64_MIN + 3)
Timestamp.MAX = Timestamp(_INT64_MAX - 3)
Timestamp.POST_STREAM = Timestamp(_INT64_MAX - 2)
Timestamp.ONE_OVER_POST_STREAM = Timestamp(_INT64_MAX - 1)
Timestamp.DONE = Timestamp(_INT64_MAX)

_MIN, _MAX = Timestamp.MIN, Timestamp.MAX
_PRE, _POST = Timestamp.PRE_STREAM, Timestamp.POST_STREAM
_NAMES = {
    int(getattr(Timestamp, name)): name
    for name in ("UNSET", "UNSTARTED", "PRE_STREAM", "MIN", "MAX", "POST_STREAM",
                 "ONE_OVER_POST_STREAM", "DONE")
}
