# SPDX-License-Identifier: LGPL-2.1-or-later
"""LoopManager.stop_async() and progress from Python (issue 17, items 1
and 5). Every blocking call has a timeout; conftest's watchdog ends a hung
test. Nothing synchronises by sleeping."""

import asyncio
import threading

import gi
gi.require_version('Tether', '1.0')
from gi.repository import Gio, GLib, Tether  # noqa: E402

import pytest  # noqa: E402

LONG = 30
N_REPORTS = 100_000


def started(name=None):
    m = Tether.LoopManager.new(name)
    m.start(None)
    return m


def gated(manager):
    """A job blocked on an Event, and the Event."""
    entered, gate = threading.Event(), threading.Event()

    def block(work):
        entered.set()
        gate.wait(LONG)
        return 'unblocked'
    future = manager.submit(None, None, block)
    assert entered.wait(LONG)
    return future, gate


def iterate_until(context, predicate):
    deadline = GLib.get_monotonic_time() + LONG * 1_000_000
    while not predicate():
        assert GLib.get_monotonic_time() < deadline, 'still waiting after %d s' % LONG
        context.iteration(True)


def test_stop_async_callback_in_the_callers_context():
    m = started()
    blocked, gate = gated(m)
    queued = m.submit(None, None, lambda work: 2)
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        seen = []
        in_call = [True]

        def stopped(manager, result, data):
            seen.append((manager.stop_finish(result), data, in_call[0],
                         threading.current_thread() is threading.main_thread()))
        m.stop_async(Tether.StopMode.DRAIN, None, stopped, 'data')
        in_call[0] = False
        assert not m.is_running()
        assert not seen
        gate.set()
        iterate_until(context, lambda: seen)
        assert seen == [(True, 'data', False, True)]
        assert blocked.result(0) == 'unblocked'
        assert queued.result(0) == 2
    finally:
        context.pop_thread_default()
    m.stop()


def test_await_stop_async_on_a_plain_asyncio_loop():
    m = started()
    blocked, gate = gated(m)

    async def main():
        stopping = m.stop_async()
        # The stop began inside the call.
        assert not m.is_running()
        assert not stopping.done()
        gate.set()
        return await asyncio.wait_for(stopping, LONG)
    assert asyncio.run(main()) is True
    assert blocked.result(0) == 'unblocked'
    m.stop()


def test_cancelling_the_await_abandons_the_wait_not_the_stop():
    m = started()
    blocked, gate = gated(m)
    queued = m.submit(None, None, lambda work: 3)

    async def main():
        stopping = m.stop_async(Tether.StopMode.DRAIN)
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        # Still draining: nothing was cancelled.
        assert not m.is_running()
        assert not blocked.done() and not queued.done()
    asyncio.run(main())
    gate.set()
    m.stop()
    assert blocked.result(0) == 'unblocked'
    assert queued.result(0) == 3


def test_a_cancellable_given_to_the_await():
    m = started()
    _, gate = gated(m)
    cancellable = Gio.Cancellable()

    async def main():
        stopping = m.stop_async(Tether.StopMode.DRAIN, cancellable)
        cancellable.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(stopping, LONG)
    asyncio.run(main())
    gate.set()
    m.stop()


def test_await_from_another_managers_loop():
    a, b = started('py-stop-a'), started('py-stop-b')
    blocked, gate = gated(a)

    async def stop_a(work):
        stopping = a.stop_async(Tether.StopMode.CANCEL)
        gate.set()
        return await stopping
    assert b.submit(None, None, stop_a).result(LONG) is True
    assert not a.is_running()
    assert blocked.result(0) == 'unblocked'
    b.stop()
    a.stop()


def test_await_on_the_managers_own_thread_is_refused():
    m = started()

    async def stop_self(work):
        return m.stop_async()
    with pytest.raises(Tether.WouldDeadlockError):
        m.submit(None, None, stop_self).result(LONG)
    assert m.is_running()
    m.stop()


def test_stop_async_needs_a_loop_or_a_callback():
    m = started()
    with pytest.raises(TypeError):
        m.stop_async()
    with pytest.raises(ValueError):
        m.stop_async(7, None, lambda *args: None)
    with pytest.raises(TypeError):
        m.stop_async(Tether.StopMode.DRAIN, 'not a cancellable', lambda *args: None)
    assert m.is_running()
    m.stop()


def test_stop_async_of_a_stopped_manager():
    m = Tether.LoopManager.new(None)

    async def main():
        return await asyncio.wait_for(m.stop_async(), LONG)
    assert asyncio.run(main()) is True


def reporter(work, go, n):
    go.wait(LONG)
    for i in range(n):
        work.report_progress(GLib.Variant('u', i))
    return n


def test_progress_coalesced_to_an_asyncio_loop():
    m = started()
    go = threading.Event()

    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        done = loop.create_future()

        def on_progress(future, value):
            assert not done.done()
            seen.append(value)
            if value == N_REPORTS - 1:
                done.set_result(True)
        future = m.submit(None, None, reporter, go, N_REPORTS)
        future.add_progress_callback(on_progress, context=loop)
        go.set()
        assert await asyncio.wait_for(future, LONG) == N_REPORTS
        # The last report may be overtaken by the outcome; if it came, it
        # came before the await returned.
        assert future.dup_progress().unpack() == N_REPORTS - 1
        # Coalesced: reports that came while one was on its way to the loop
        # were not delivered one by one. How many get through depends on how
        # often each thread runs (12% of them once, on a loaded CI machine);
        # half is far from any run seen and still fails if every report is
        # delivered on its own.
        assert len(seen) < N_REPORTS // 2
        assert seen == sorted(seen)
        after = len(seen)
        await asyncio.sleep(0)
        assert len(seen) == after
    asyncio.run(main())
    m.stop()


def test_progress_signal_in_the_submitters_context_and_fractions():
    m = started()
    go, last = threading.Event(), threading.Event()
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        seen = []

        def work(work):
            go.wait(LONG)
            work.report_fraction(0.25, 'a quarter')
            work.report_fraction(3.0, None)
            last.wait(LONG)
            return True
        future = m.submit(None, None, work)
        future.connect('progress', lambda f, v: seen.append(v.unpack()))
        go.set()
        iterate_until(context, lambda: seen and seen[-1] == (1.0, ''))
        last.set()
        assert future.result(LONG) is True
        assert future.dup_progress().unpack() == (1.0, '')
    finally:
        context.pop_thread_default()
    m.stop()


def test_progress_callback_on_the_callback_thread():
    m = started()
    go = threading.Event()
    got_last = threading.Event()
    threads = set()

    def on_progress(future, value):
        threads.add(threading.current_thread().name)
        if value == 999:
            got_last.set()

    def work(work):
        go.wait(LONG)
        for i in range(1000):
            work.report_progress(GLib.Variant('u', i))
        got_last.wait(LONG)
        return 1
    future = m.submit(None, None, work)
    future.add_progress_callback(on_progress)
    go.set()
    assert future.result(LONG) == 1
    assert got_last.is_set()
    assert threads == {'tether-callbacks'}
    m.stop()
