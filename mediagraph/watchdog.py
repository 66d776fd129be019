"""The watchdog: notices calculator calls that outlive their node's `process_timeout`.

Python cannot interrupt a call, so the watchdog only reports it: it takes the call off
its table, remembers the thread as abandoned (nobody may join it), and hands the run a
`HungCall` with the thread's stack. The run then fails and closes the other nodes; the
hung thread finds out when its call returns, because `leave` says it was given up on.

Threading: every method but `run` is called with the run's lock held; `run` is the body
of the watchdog's own thread and takes that lock itself, waking every `period` seconds.
Time comes from `clock` (nanoseconds), so tests can move it by hand.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Protocol


class Watched(Protocol):
    """What the watchdog needs of a node: how long a call of each kind may run."""

    def limit_ns(self, kind: int) -> int:
        """The longest a call of `kind` may run, in nanoseconds (0: no limit)."""
        ...


@dataclass(frozen=True)
class HungCall:
    """A call the watchdog gave up on, with what an error message needs to say."""

    tid: int
    node: Any
    kind: int
    timestamp: int
    limit_ns: int
    thread_name: str
    stack: str


class Watchdog:
    """Watches the calls `enter`ed on it and reports those over their node's limit."""

    def __init__(self, lock: threading.Lock, shortest_limit_ns: int,
                 on_hung: Callable[[HungCall], None],
                 clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.calls: dict[int, tuple[Watched, int, int, int]] = {}  # tid -> node, kind, ts, start
        self.abandoned: dict[int, str] = {}  # thread ident -> name, for threads left hung
        # Check often enough to fire within about a quarter of the shortest limit.
        self.period = min(0.25, max(0.005, shortest_limit_ns / 4e9))
        self.clock = clock
        self._on_hung = on_hung
        self._cond = threading.Condition(lock)
        self._stopped = False

    def enter(self, tid: int, node: Watched, kind: int, timestamp: int) -> None:
        """Thread `tid` starts a call of `kind` on `node`."""
        self.calls[tid] = (node, kind, timestamp, self.clock())

    def leave(self, tid: int) -> bool:
        """Thread `tid`'s call returned; False when the watchdog had given up on it."""
        return self.calls.pop(tid, None) is not None

    def came_back(self, tid: int) -> None:
        """An abandoned thread is out of the calculator again: it may be joined."""
        self.abandoned.pop(tid, None)

    def check(self) -> None:
        """Report every call past its limit (each once) through `on_hung`."""
        now = self.clock()
        for tid, (node, kind, ts, start) in list(self.calls.items()):
            limit = node.limit_ns(kind)
            if limit and now - start > limit:
                del self.calls[tid]
                self._on_hung(self._hung(tid, node, kind, ts, limit))

    def _hung(self, tid: int, node: Watched, kind: int, ts: int, limit: int) -> HungCall:
        thread = next((t for t in threading.enumerate() if t.ident == tid), None)
        name = thread.name if thread is not None else str(tid)
        self.abandoned[tid] = name
        frame = sys._current_frames().get(tid)
        stack = "".join(traceback.format_stack(frame)[-12:]) if frame is not None else "?\n"
        return HungCall(tid, node, kind, ts, limit, name, stack.rstrip())

    def run(self) -> None:
        """The watchdog thread: check every `period` until `stop`."""
        with self._cond:
            while not self._stopped:
                self._cond.wait(self.period)
                if not self._stopped:
                    self.check()

    def stop(self) -> None:
        """End `run` (lock held)."""
        self._stopped = True
        self._cond.notify_all()
