"""The watchdog on its own: a hand-moved clock decides which calls are hung."""

from __future__ import annotations

import threading

import pytest

from mediagraph.watchdog import HungCall, Watchdog

pytestmark = pytest.mark.timeout(30)

LIMIT_NS = 1_000


class Node:
    """A watched node: process calls may take LIMIT_NS, open and close ten times that."""

    def limit_ns(self, kind: int) -> int:
        return LIMIT_NS if kind == 1 else 10 * LIMIT_NS


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def setup():
    clock = Clock()
    hung: list[HungCall] = []
    watchdog = Watchdog(threading.Lock(), LIMIT_NS, hung.append, clock=clock)
    return watchdog, clock, hung


def test_a_call_within_its_limit_is_not_reported(setup):
    watchdog, clock, hung = setup
    watchdog.enter(7, Node(), 1, 42)
    clock.now = LIMIT_NS
    watchdog.check()
    assert hung == []
    assert watchdog.leave(7) is True
    assert watchdog.abandoned == {}


def test_a_call_over_its_limit_is_reported_once_and_abandoned(setup):
    watchdog, clock, hung = setup
    node = Node()
    watchdog.enter(7, node, 1, 42)
    clock.now = LIMIT_NS + 1
    watchdog.check()
    watchdog.check()
    assert [(h.tid, h.node, h.kind, h.timestamp, h.limit_ns) for h in hung] == \
        [(7, node, 1, 42, LIMIT_NS)]
    assert hung[0].thread_name == "7" and hung[0].stack == "?"  # no such thread
    assert watchdog.abandoned == {7: "7"}
    assert watchdog.leave(7) is False  # the late return learns it was given up on
    watchdog.came_back(7)
    assert watchdog.abandoned == {}


def test_each_kind_of_call_has_its_own_limit(setup):
    watchdog, clock, hung = setup
    watchdog.enter(1, Node(), 0, -1)  # open: ten times longer
    watchdog.enter(2, Node(), 1, 5)
    clock.now = 2 * LIMIT_NS
    watchdog.check()
    assert [h.tid for h in hung] == [2]
    clock.now = 11 * LIMIT_NS
    watchdog.check()
    assert [h.tid for h in hung] == [2, 1]


def test_a_node_without_a_limit_is_never_reported(setup):
    watchdog, clock, hung = setup

    class Unlimited:
        def limit_ns(self, kind: int) -> int:
            return 0

    watchdog.enter(3, Unlimited(), 1, 0)
    clock.now = 1 << 60
    watchdog.check()
    assert hung == [] and watchdog.leave(3)


def test_the_report_names_the_thread_and_shows_its_stack(setup):
    watchdog, clock, hung = setup
    me = threading.current_thread()
    watchdog.enter(threading.get_ident(), Node(), 1, 0)
    clock.now = 2 * LIMIT_NS
    watchdog.check()
    assert hung[0].thread_name == me.name
    assert "test_the_report_names_the_thread_and_shows_its_stack" in hung[0].stack


def test_the_period_follows_the_shortest_limit():
    lock = threading.Lock()
    assert Watchdog(lock, 20_000_000, print).period == pytest.approx(0.005)
    assert Watchdog(lock, 100_000_000, print).period == pytest.approx(0.025)
    assert Watchdog(lock, 60_000_000_000, print).period == 0.25


def test_stop_ends_the_watchdog_thread(setup):
    watchdog, _, _ = setup
    lock = watchdog._cond
    thread = threading.Thread(target=watchdog.run, daemon=True)
    thread.start()
    with lock:
        watchdog.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
