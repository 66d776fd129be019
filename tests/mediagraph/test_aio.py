"""Graph.arun: a run driven from asyncio never blocks the loop, cancels cleanly and raises
the run's errors at `await`."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediagraph as mg
from mediagraph import Calculator, CalculatorContext, Input, Output
from mediagraph.errors import CalculatorError, GraphCancelled, GraphRunError
from mediagraph.testing.faults import graph_threads

pytestmark = pytest.mark.timeout(60)


class AioSlowPass(Calculator):
    """Passes values on after SLOW_S seconds; records its opens and closes."""

    value = Input(Any, tag="")
    out = Output(Any, tag="")
    slow_s = 0.0
    events: list[str] = []

    def open(self, cc: CalculatorContext) -> None:
        AioSlowPass.events.append(f"open {cc.node_name}")

    def process(self, cc: CalculatorContext) -> None:
        time.sleep(AioSlowPass.slow_s)
        cc.send(self.out, cc.get(self.value))

    def close(self, cc: CalculatorContext) -> None:
        AioSlowPass.events.append(f"close {cc.node_name}")


class AioFailAt3(Calculator):
    value = Input(Any, tag="")
    out = Output(Any, tag="")

    def process(self, cc: CalculatorContext) -> None:
        if cc.input_timestamp.value == 3:
            raise ValueError("three is not allowed")
        cc.send(self.out, cc.get(self.value))


def _chain(*calculators: str, max_queue_size: int = 2) -> mg.Graph:
    nodes, previous = [], "in"
    for i, name in enumerate(calculators):
        nodes.append(f'node {{ name: "n{i}" calculator: "{name}" input_stream: "{previous}" '
                     f'output_stream: "s{i}" }}')
        previous = f"s{i}"
    return mg.Graph(f'input_stream: "in" output_stream: "{previous}" '
                    f'max_queue_size: {max_queue_size} ' + " ".join(nodes))


@pytest.fixture(autouse=True)
def _reset():
    AioSlowPass.slow_s = 0.0
    AioSlowPass.events = []
    yield
    assert graph_threads(join_timeout=5.0) == []


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_packets_go_through_in_order_and_the_run_ends():
    graph = _chain("AioSlowPass", "AioSlowPass")

    async def main() -> list[tuple[int, int]]:
        got = []
        async with graph.arun() as r:
            async def feed() -> None:
                for i in range(20):
                    await r.add_packet("in", i * 10, i)
                r.close_all_inputs()

            feeder = asyncio.create_task(feed())
            async for packet in r.stream("s1"):
                got.append((packet.value, packet.timestamp.value))
            await feeder
            await r.wait()
        return got

    assert run(main()) == [(i * 10, i) for i in range(20)]
    assert sorted(AioSlowPass.events) == ["close n0", "close n1", "open n0", "open n1"]


def test_back_pressure_holds_the_task_not_the_loop():
    graph = _chain("AioSlowPass", max_queue_size=1)
    AioSlowPass.slow_s = 0.15

    async def main() -> tuple[float, float]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.005)

        clock = asyncio.create_task(ticker())
        async with graph.arun() as r:
            async def drain() -> None:
                async for _ in r.stream("s0"):
                    pass

            reader = asyncio.create_task(drain())
            start = time.monotonic()
            for i in range(6):
                await r.add_packet("in", i, i)
            adding = time.monotonic() - start
            r.close_all_inputs()
            await reader
        stop.set()
        await clock
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        return adding, max(gaps)

    adding, longest_gap = run(main())
    assert adding > 0.3          # the adds waited for the slow node (back-pressure) ...
    assert longest_gap < 0.1     # ... while the loop went on ticking (a blocked add: 0.15 s)


def test_cancelling_the_task_cancels_the_run_and_closes_every_node():
    graph = _chain("AioSlowPass", "AioSlowPass", "AioSlowPass")
    AioSlowPass.slow_s = 0.01
    started = asyncio.Event

    async def main() -> None:
        ready = started()

        async def use() -> None:
            async with graph.arun() as r:
                i = 0
                while True:  # a live source: never ends by itself
                    await r.add_packet("in", i, i)
                    i += 1
                    if i == 5:
                        ready.set()

        task = asyncio.create_task(use())
        await ready.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    opened = sorted(e.split()[1] for e in AioSlowPass.events if e.startswith("open"))
    closed = sorted(e.split()[1] for e in AioSlowPass.events if e.startswith("close"))
    assert opened == closed == ["n0", "n1", "n2"]


def test_a_calculator_error_surfaces_at_await():
    graph = _chain("AioSlowPass", "AioFailAt3")

    async def main() -> list[int]:
        got: list[int] = []
        async with graph.arun() as r:
            async def read() -> None:
                async for packet in r.stream("s1"):
                    got.append(packet.value)

            reader = asyncio.create_task(read())
            for i in range(6):
                try:
                    await r.add_packet("in", i, i)
                except GraphRunError:
                    break  # the run has failed already: "the run has stopped: ..."
            with pytest.raises(CalculatorError, match="three is not allowed"):
                await reader  # the stream ends by raising the run's error
            with pytest.raises(CalculatorError, match="'n1'"):
                await r.wait()
            raise KeyboardInterrupt  # leave by an exception: the run is over already
        return got

    with pytest.raises(KeyboardInterrupt):
        run(main())


def test_an_error_in_the_block_cancels_the_run():
    graph = _chain("AioSlowPass")

    async def main() -> Any:
        async with graph.arun() as r:
            await r.add_packet("in", 1, 0)
            raise RuntimeError("the app failed")

    with pytest.raises(RuntimeError, match="the app failed"):
        run(main())
    with pytest.raises(GraphCancelled):
        graph.wait_until_done(5)


def test_unread_streams_do_not_hold_the_end_of_the_block():
    graph = _chain("AioSlowPass", max_queue_size=1)

    async def main() -> None:
        async with graph.arun() as r:
            for i in range(2):  # nobody reads s0
                await r.add_packet("in", i, i)

    run(main())  # leaving the block lets the unread stream go


def test_a_stream_not_read_is_named_and_runs_do_not_share_readers():
    graph = _chain("AioSlowPass", "AioSlowPass")

    async def once(values: list[int]) -> list[int]:
        async with graph.arun(streams=["s0"]) as r:
            with pytest.raises(KeyError, match="stream 's1' is not read by this run"):
                r.stream("s1")
            for i, v in enumerate(values):
                await r.add_packet("in", v, i)
            r.close_all_inputs()
            return [p.value async for p in r.stream("s0")]

    assert run(once([1, 2])) == [1, 2]
    assert run(once([7])) == [7]
    with pytest.raises(KeyError, match="no stream 'nope'"):
        run(_enter(graph.arun(streams=["nope"])))


async def _enter(async_run: Any) -> None:
    async with async_run:
        pass


def test_the_graph_threads_never_run_loop_callbacks():
    graph = _chain("AioSlowPass")
    loop_threads: set[int] = set()

    async def main() -> None:
        loop_threads.add(threading.get_ident())
        async with graph.arun() as r:
            await r.add_packet("in", 1, 0)
            r.close_all_inputs()
            async for packet in r.stream("s0"):
                loop_threads.add(threading.get_ident())  # the reader runs on the loop

    run(main())
    assert len(loop_threads) == 1


@settings(max_examples=15, deadline=None)
@given(values=st.lists(st.integers(-1000, 1000), max_size=25),
       queue_size=st.integers(1, 4), reader_pauses=st.lists(st.booleans(), max_size=25))
def test_every_packet_arrives_once_in_order_whatever_the_pace(values, queue_size, reader_pauses):
    graph = _chain("AioSlowPass", "AioSlowPass", max_queue_size=queue_size)

    async def main() -> list[tuple[int, int]]:
        got = []
        async with graph.arun() as r:
            async def feed() -> None:
                for i, v in enumerate(values):
                    await r.add_packet("in", v, i)
                r.close_all_inputs()

            feeder = asyncio.create_task(feed())
            async for packet in r.stream("s1"):
                got.append((packet.value, packet.timestamp.value))
                if reader_pauses and reader_pauses[len(got) % len(reader_pauses)]:
                    await asyncio.sleep(0.002)  # a slow reader: the graph waits for it
            await feeder
        return got

    assert run(main()) == [(v, i) for i, v in enumerate(values)]
