"""Calculators used by the scheduler tests (registered once, by import)."""

from __future__ import annotations

import random
import os
import threading
import time
from typing import Any

from mediagraph import (Calculator, CalculatorContext, Input, Inputs, Options, Output, SideInput,
                        SideOutput, Stop, Timestamp)


class CounterSource(Calculator):
    """Emits 0..COUNT-1 at timestamps 0..COUNT-1 (COUNT from a side packet, default 10)."""

    count = SideInput(int, optional=True)
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.n = cc.side(self.count, 10)
        self.i = 0

    def process(self, cc: CalculatorContext) -> Any:
        if self.i >= self.n:
            return Stop
        cc.send(self.out, self.i, timestamp=self.i)
        self.i += 1
        return None


class JitterAdd(Calculator):
    """Adds `delta` after a random short delay (seeded per node name) to scramble timing."""

    value = Input(int, tag="")
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.rng = random.Random(cc.node_name + str(time.perf_counter_ns()))
        self.delta = len(cc.node_name)

    def process(self, cc: CalculatorContext) -> None:
        if self.rng.random() < 0.3:
            time.sleep(self.rng.random() * 0.0005)
        cc.send(self.out, cc.get(self.value) + self.delta)


class JoinSum(Calculator):
    """Sums whatever inputs are present at a timestamp; records which were absent."""

    values = Inputs(int, tag="")
    out = Output(Any, tag="")

    def process(self, cc: CalculatorContext) -> None:
        present = cc.get(self.values)
        cc.send(self.out, tuple(present))


class EvenOnly(Calculator):
    """Forwards only even values: odd timestamps get no packet (bounds still move)."""

    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        v = cc.get(self.value)
        if v % 2 == 0:
            cc.send(self.out, v)


class FailAt(Calculator):
    """Raises ValueError when it sees timestamp FAIL_AT (side packet)."""

    value = Input(int, tag="")
    fail_at = SideInput(int)
    out = Output(int, tag="")
    closed: list[str] = []

    def open(self, cc: CalculatorContext) -> None:
        self.at = cc.side(self.fail_at)

    def process(self, cc: CalculatorContext) -> None:
        if cc.input_timestamp == self.at:
            raise ValueError("boom at the chosen timestamp")
        cc.send(self.out, cc.get(self.value))

    def close(self, cc: CalculatorContext) -> None:
        FailAt.closed.append(cc.node_name)


class RecordClose(Calculator):
    """Passes through and records that close() ran."""

    value = Input(Any, tag="")
    out = Output(Any, tag="")
    closed: list[str] = []

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value))

    def close(self, cc: CalculatorContext) -> None:
        RecordClose.closed.append(cc.node_name)


class Blocker(Calculator):
    """Waits on a class-level Event in process (up to 10 s) before passing through."""

    value = Input(Any, tag="")
    out = Output(Any, tag="")
    release = threading.Event()
    entered = threading.Event()

    def process(self, cc: CalculatorContext) -> None:
        Blocker.entered.set()
        Blocker.release.wait(10)
        cc.send(self.out, cc.get(self.value))


class BackwardsTimestamps(Calculator):
    """Sends at 100 minus the input timestamp: the second packet breaks the stream's bound."""

    value = Input(int, tag="")
    out = Output(int, tag="")
    timestamp_offset = None

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value), timestamp=100 - int(cc.input_timestamp))


class SideMaker(Calculator):
    """Sets output side packet FACTOR in open()."""

    factor = SideOutput(int)

    def open(self, cc: CalculatorContext) -> None:
        cc.set_side(self.factor, 7)

    def process(self, cc: CalculatorContext) -> Any:
        return Stop


class Scale(Calculator):
    value = Input(int, tag="")
    factor = SideInput(int)
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value) * cc.side(self.factor))


class ThreadName(Calculator):
    """Sends the name of the thread it ran on."""

    value = Input(Any, tag="")
    out = Output(str, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, threading.current_thread().name)


class ThreadNice(Calculator):
    """Sends the nice value of the thread it ran on (Linux: per thread)."""

    value = Input(Any, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        cc.send(self.out, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))


class SlowDouble(Calculator):
    """Doubles after a short sleep; used with max_in_flight > 1 (order must hold)."""

    value = Input(int, tag="")
    out = Output(int, tag="")

    def process(self, cc: CalculatorContext) -> None:
        v = cc.get(self.value)
        time.sleep(0.002 * ((7 - v) % 4))
        cc.send(self.out, 2 * v)


class HeaderSource(Calculator):
    """Sends a header at PRE_STREAM, three packets, and a trailer at POST_STREAM."""

    header = Output(str)
    data = Output(int)
    trailer = Output(str)

    def open(self, cc: CalculatorContext) -> None:
        cc.send(self.header, "hdr", timestamp=Timestamp.PRE_STREAM)
        self.i = 0

    def process(self, cc: CalculatorContext) -> Any:
        if self.i == 3:
            cc.send(self.trailer, "end", timestamp=Timestamp.POST_STREAM)
            return Stop
        cc.send(self.data, self.i, timestamp=self.i)
        self.i += 1
        return None


class LayerSource(Calculator):
    """Emits NAME-i for i in 0..2 and records the global order of emission."""

    out = Output(int, tag="")
    order: list[str] = []

    def open(self, cc: CalculatorContext) -> None:
        self.i = 0

    def process(self, cc: CalculatorContext) -> Any:
        if self.i == 3:
            return Stop
        LayerSource.order.append(f"{cc.node_name}-{self.i}")
        cc.send(self.out, self.i, timestamp=self.i)
        self.i += 1
        return None


class RandomNodeOptions(Options):
    add: int = 0
    drop_mod: int = 0
    jitter_us: int = 0


class RandomNode(Calculator):
    """Sums the present inputs plus `add`; drops sums divisible by `drop_mod`; may sleep."""

    Options = RandomNodeOptions
    values = Inputs(int, tag="")
    out = Output(int, tag="")

    def open(self, cc: CalculatorContext) -> None:
        self.rng = random.Random(time.perf_counter_ns())

    def process(self, cc: CalculatorContext) -> None:
        if self.options.jitter_us and self.rng.random() < 0.2:
            time.sleep(self.rng.random() * self.options.jitter_us / 1e6)
        present = [v for v in cc.get(self.values) if v is not None]
        total = sum(present) + self.options.add
        if self.options.drop_mod and total % self.options.drop_mod == 0:
            return
        cc.send(self.out, total)
