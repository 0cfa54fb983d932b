# SPDX-License-Identifier: LGPL-2.1-or-later
"""Priorities from Python: ``submit(fn, priority=...)``, ``post(fn,
priority=...)``, the C-order ``submit_full()``/``post_full()`` and
``submit_async(..., io_priority=...)``. The manager's thread is parked in
a job while work queues; every wait has a timeout."""

import asyncio
import concurrent.futures as cf
import threading

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

T = 30          # seconds: any single wait


@pytest.fixture
def manager():
    m = Tether.LoopManager.new(None)
    m.start(None)
    yield m
    if m.is_running():
        m.stop_within(T * 1_000_000)


def parked(manager):
    """Parks the manager's thread in C-queued work until the returned gate
    is set (a prioritized job, so that it goes through the C queue)."""
    entered, gate = threading.Event(), threading.Event()

    def park():
        entered.set()
        assert gate.wait(T)
    future = manager.submit(park, priority=GLib.PRIORITY_HIGH)
    assert entered.wait(T)
    return gate, future


def test_keyword_submit_and_post_run_by_priority(manager):
    gate, parker = parked(manager)
    order = []
    futures = [manager.submit(order.append, 'low', priority=GLib.PRIORITY_LOW),
               manager.submit(order.append, 'default-c', priority=GLib.PRIORITY_DEFAULT + 0),
               manager.submit(order.append, 'high', priority=GLib.PRIORITY_HIGH)]
    manager.post(order.append, 'high-post', priority=GLib.PRIORITY_HIGH)
    manager.post(order.append, 'low-post', priority=GLib.PRIORITY_LOW)
    done = manager.submit(order.append, 'last', priority=GLib.PRIORITY_LOW)
    # A non-default priority goes through C: a Tether.Future, a real one.
    assert isinstance(futures[0], Tether.Future)
    assert isinstance(futures[0], cf.Future)
    gate.set()
    parker.result(T)
    done.result(T)
    for f in futures:
        f.result(T)
    assert order.index('high') < order.index('high-post') < order.index('low')
    assert order.index('low') < order.index('low-post') < order.index('last')


def test_c_order_full_forms(manager):
    gate, parker = parked(manager)
    order = []

    def record(work, tag):
        order.append(tag)
        return tag
    low = manager.submit_full(None, GLib.PRIORITY_LOW, None, record, 'low')
    manager.post_full(None, GLib.PRIORITY_LOW, order.append, 'low-post')
    high = manager.submit_full(None, GLib.PRIORITY_HIGH, None, record, 'high')
    assert manager.get_n_pending() == 3
    gate.set()
    parker.result(T)
    assert high.result(T) == 'high'
    assert low.result(T) == 'low'
    assert order[:2] == ['high', 'low']


def test_submit_async_io_priority(manager):
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        gate, parker = parked(manager)
        results = []

        def work(work, tag):
            return tag

        def ready(source, result, *user_data):
            results.append(source.submit_finish(result)[1])
        manager.submit_async(None, work, ('low',), None, ready, io_priority=GLib.PRIORITY_LOW)
        manager.submit_async(None, work, ('high',), None, ready, io_priority=GLib.PRIORITY_HIGH)
        gate.set()
        parker.result(T)
        deadline = GLib.get_monotonic_time() + T * 1_000_000
        while len(results) < 2:
            assert GLib.get_monotonic_time() < deadline
            context.iteration(True)
        assert results == ['high', 'low']
    finally:
        context.pop_thread_default()


def test_async_def_at_a_priority(manager):
    async def coro(x):
        await asyncio.sleep(0)
        return x * 2
    assert manager.submit(coro, 21, priority=GLib.PRIORITY_HIGH).result(T) == 42


@pytest.mark.parametrize('bad', ['high', 1.5, None, True, 1 << 40])
def test_bad_priority_is_a_type_error(manager, bad):
    with pytest.raises(TypeError, match='priority'):
        manager.submit(print, priority=bad)
    with pytest.raises(TypeError, match='priority'):
        manager.post(print, priority=bad)


def test_refused_when_stopped():
    m = Tether.LoopManager.new(None)
    with pytest.raises(Tether.NotRunningError):
        m.submit(print, priority=GLib.PRIORITY_HIGH)
    with pytest.raises(Tether.NotRunningError):
        m.post(print, priority=GLib.PRIORITY_LOW)
