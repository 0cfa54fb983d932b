# SPDX-License-Identifier: LGPL-2.1-or-later
"""The keyword forms, ``manager.submit(fn, ...)`` and ``manager.post(fn,
...)``: the fast lane of gi/overrides/_tether_lane.py and
``Tether.PythonFuture``. Every blocking call has a timeout (and conftest's
watchdog ends a hung run)."""

import asyncio
import concurrent.futures as cf
import contextvars
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import Gio, GLib, Tether  # noqa: E402
from gi.overrides import _tether_errors as errors  # noqa: E402
from gi.overrides import _tether_lane as lane_module  # noqa: E402

T = 30          # seconds: any single wait


@pytest.fixture
def manager():
    m = Tether.LoopManager.new(None)
    m.start(None)
    yield m
    if m.is_running():
        m.stop_within(T * 1_000_000)


def parked(manager):
    """Parks the manager's thread in a lane job until the returned event is
    set; returns (entered, gate, future)."""
    entered, gate = threading.Event(), threading.Event()

    def park():
        entered.set()
        assert gate.wait(T)
        return 'parked'
    future = manager.submit(park)
    assert entered.wait(T)
    return entered, gate, future


def test_result_args_kwargs_context_and_thread(manager):
    var = contextvars.ContextVar('var')
    var.set('submitter')

    def work(a, b, *, c):
        return a + b + c, var.get(), threading.get_ident()
    future = manager.submit(work, 1, 2, c=3)
    assert isinstance(future, Tether.PythonFuture)
    assert isinstance(future, cf.Future)
    total, seen, ident = future.result(T)
    assert (total, seen) == (6, 'submitter')
    assert ident != threading.get_ident()
    # The context is a copy: the work's changes stay there.
    manager.submit(var.set, 'work').result(T)
    assert var.get() == 'submitter'


def test_fifo_and_never_inline_from_manager_thread(manager):
    order = []

    def outer():
        inner = manager.submit(order.append, 'inner')
        order.append('outer')
        return inner
    inner = manager.submit(outer).result(T)
    futures = [manager.submit(order.append, i) for i in range(1000)]
    inner.result(T)
    cf.wait(futures, T)
    assert order[:2] == ['outer', 'inner']
    assert order[2:] == list(range(1000))


def test_post_runs_and_logs_exceptions(manager, caplog):
    ran = threading.Event()
    assert manager.post(ran.set) is None
    assert ran.wait(T)

    def boom():
        raise ValueError('posted boom')
    with caplog.at_level(logging.ERROR, logger='gi.overrides.Tether'):
        manager.post(boom)
        manager.submit(lambda: None).result(T)     # FIFO: boom ran before
    assert 'posted boom' in caplog.text


def test_coroutines_run_as_tasks(manager):
    async def double(x):
        await asyncio.sleep(0)
        assert isinstance(asyncio.get_running_loop(), asyncio.AbstractEventLoop)
        return 2 * x
    assert manager.submit(double, 21).result(T) == 42
    assert manager.submit(double(4)).result(T) == 8
    done = threading.Event()

    async def post_me():
        await asyncio.sleep(0)
        done.set()
    manager.post(post_me)
    assert done.wait(T)


@pytest.mark.parametrize('call', ['submit', 'post'])
def test_argument_errors_at_the_call(manager, call):
    method = getattr(manager, call)
    for bad in (42, object()):
        with pytest.raises(TypeError):
            method(bad)
    with pytest.raises(TypeError):
        method(None)

    async def coro():
        return 1
    c = coro()
    with pytest.raises(TypeError):
        method(c, 1)
    with pytest.raises(TypeError):
        method(print, task_type=3)


def test_cancelled_errors_end_cancelled_and_base_exceptions_are_outcomes(manager):
    def raise_(exc):
        raise exc
    for exc in (asyncio.CancelledError(), cf.CancelledError()):
        future = manager.submit(raise_, exc)
        with pytest.raises(cf.CancelledError):
            future.result(T)
        assert future.cancelled()

    async def cancelled_coro():
        raise asyncio.CancelledError()
    assert manager.submit(cancelled_coro).exception is not None
    future = manager.submit(cancelled_coro)
    with pytest.raises(cf.CancelledError):
        future.result(T)
    future = manager.submit(raise_, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        future.result(T)
    future = manager.submit(raise_, KeyError('k'))
    assert isinstance(future.exception(T), KeyError)


def test_cancel_queued_never_runs_and_running_cancels_its_cancellable(manager):
    ran = []
    _, gate, parked_future = parked(manager)
    queued = manager.submit(ran.append, 'queued')
    assert queued.cancel()
    assert queued.cancelled()
    gate.set()
    assert parked_future.result(T) == 'parked'
    manager.submit(lambda: None).result(T)
    assert ran == []

    cancellable = Gio.Cancellable()
    entered, release = threading.Event(), threading.Event()

    def running():
        entered.set()
        assert release.wait(T)
        return cancellable.is_cancelled()
    future = manager.submit(running, cancellable=cancellable)
    assert entered.wait(T)
    assert future.running()
    assert not future.cancel()
    release.set()
    assert future.result(T) is True


def test_done_callbacks_never_inside_submit_or_cancel(manager):
    me = threading.get_ident()
    seen = []
    called = threading.Event()

    def callback(future):
        seen.append((threading.current_thread().name, future.cancelled()))
        called.set()
    _, gate, parked_future = parked(manager)
    queued = manager.submit(int)
    queued.add_done_callback(callback)
    assert queued.cancel()
    gate.set()
    assert called.wait(T)
    assert seen == [('tether-callbacks', True)]
    assert threading.get_ident() == me

    # Already done, context None: at once, here.
    assert parked_future.result(T) == 'parked'
    done_here = []
    parked_future.add_done_callback(lambda f: done_here.append(threading.get_ident()))
    assert done_here == [me]

    # A chosen context: always there, even if already done.
    context = GLib.MainContext.new()
    in_context = []
    parked_future.add_done_callback(in_context.append, context=context)
    assert in_context == []
    while not in_context:
        context.iteration(True)
    assert in_context == [parked_future]


def test_await_on_another_loop_and_on_the_managers_own(manager):
    async def main():
        return await manager.submit(lambda: 5)
    assert asyncio.run(main()) == 5

    async def on_manager():
        inner = manager.submit(lambda: 7)
        return await inner
    assert manager.submit(on_manager).result(T) == 7
    assert cf.wait([manager.submit(int)], T).not_done == set()
    wrapped = []

    async def wrap():
        wrapped.append(await asyncio.wrap_future(manager.submit(lambda: 9)))
    asyncio.run(wrap())
    assert wrapped == [9]


def test_result_on_manager_thread_would_deadlock(manager):
    def waits():
        inner = manager.submit(int)
        try:
            inner.result(T)
        except errors.WouldDeadlockError as error:
            return error
        return None
    error = manager.submit(waits).result(T)
    assert isinstance(error, errors.WouldDeadlockError)
    assert error.matches(Tether.error_quark(), Tether.Error.WOULD_DEADLOCK)


def test_cross_manager_wait_cycle_would_deadlock():
    a = Tether.LoopManager.new(None)
    b = Tether.LoopManager.new(None)
    a.start(None)
    b.start(None)
    gate = threading.Event()
    try:
        def on_b():
            assert gate.wait(T)
            try:
                return a.submit(int).result(T)
            except errors.WouldDeadlockError as error:
                return error

        def on_a():
            return b.submit(on_b).result(T)
        outer = a.submit(on_a)
        # Let B's job wait only once A's thread is seen waiting on B.
        while not lane_module._waits._edges:
            assert not outer.done()
            threading.Event().wait(0.001)
        gate.set()
        assert isinstance(outer.result(T), errors.WouldDeadlockError)
    finally:
        gate.set()
        a.stop_within(T * 1_000_000)
        b.stop_within(T * 1_000_000)


def test_task_type_checked_at_the_call():
    m = Tether.LoopManager.new(None)
    m.start('typed')
    try:
        with pytest.raises(errors.UnknownTaskTypeError):
            m.submit(int)
        with pytest.raises(errors.UnknownTaskTypeError):
            m.post(int, task_type='other')
        assert m.submit(int, '3', task_type='typed').result(T) == 3
    finally:
        m.stop_within(T * 1_000_000)


def test_backpressure_busy(manager):
    manager.set_max_pending(2)
    manager.set_submit_timeout(0)
    _, gate, parked_future = parked(manager)
    try:
        first, second = manager.submit(int), manager.submit(int)
        assert manager.get_n_pending() >= 2
        with pytest.raises(errors.BusyError):
            manager.submit(int)
        with pytest.raises(errors.BusyError):
            manager.post(int)

        # With a timeout, a submitter waits for room; the manager makes it.
        manager.set_submit_timeout(-1)
        waited = []
        t = threading.Thread(target=lambda: waited.append(manager.submit(int, '4')))
        t.start()
        # dup_stats() shows it waiting for room before the manager makes any.
        deadline = time.monotonic() + T
        while manager.dup_stats().unpack()['waiting-for-room'] != 1:
            assert time.monotonic() < deadline, 'the submitter never waited for room'
            time.sleep(0.001)
        assert not waited
        gate.set()
        t.join(T)
        assert not t.is_alive()
        assert waited[0].result(T) == 4
        first.result(T)
        second.result(T)
    finally:
        gate.set()

    # On the manager's own thread it never waits.
    def fill():
        futures = [manager.submit(int), manager.submit(int)]
        try:
            manager.submit(int)
        except errors.BusyError as error:
            return error, futures
        return None, futures
    error, futures = manager.submit(fill).result(T)
    assert isinstance(error, errors.BusyError)
    cf.wait(futures, T)


def test_drain_stop_runs_accepted_then_refuses(manager):
    _, gate, parked_future = parked(manager)
    futures = [manager.submit(int, str(i)) for i in range(100)]
    counts = []
    stopper = threading.Thread(
        target=lambda: counts.append(manager.stop_within(T * 1_000_000)))
    stopper.start()
    # The lane closes as the stop's notify::running is emitted, just after
    # is-running goes FALSE; a submission in between is accepted and runs.
    lane = lane_module._ports[hash(manager)].lane
    while not lane.closed:
        threading.Event().wait(0.001)
    with pytest.raises(errors.NotRunningError):
        manager.submit(int)
    with pytest.raises(errors.NotRunningError):
        manager.post(int)
    gate.set()
    stopper.join(T)
    assert not stopper.is_alive()
    assert [f.result(0) for f in futures] == list(range(100))
    # The stop counts the lane's jobs (the parked one and the 100), not its hold.
    assert counts == [(True, 101, 0)]
    # Restarted: a new lane.
    manager.start(None)
    assert manager.submit(int, '1').result(T) == 1


def test_cancel_stop_cancels_queued_and_logs_posts(manager, caplog):
    _, gate, parked_future = parked(manager)
    futures = [manager.submit(int) for _ in range(10)]
    with caplog.at_level(logging.WARNING, logger='gi.overrides.Tether'):
        manager.post(print, 'never')
        stopper = threading.Thread(target=manager.stop, args=(Tether.StopMode.CANCEL,))
        stopper.start()
        while not all(f.done() for f in futures):
            threading.Event().wait(0.001)
        gate.set()
        stopper.join(T)
    assert not stopper.is_alive()
    assert all(f.cancelled() for f in futures)
    assert parked_future.result(0) == 'parked'
    assert 'ended cancelled' in caplog.text


def test_cancel_stop_cancels_running_coroutines(manager):
    started = threading.Event()

    async def forever():
        started.set()
        await asyncio.sleep(3600)
    future = manager.submit(forever)
    assert started.wait(T)
    manager.stop(Tether.StopMode.CANCEL)
    assert future.cancelled()


@pytest.mark.parametrize('mode', ['drain', 'cancel'])
def test_race_submitters_against_stop(mode):
    for _ in range(10):
        m = Tether.LoopManager.new(None)
        m.start(None)
        ends = []
        ends_lock = threading.Lock()
        futures = []
        refused = []
        go = threading.Event()

        def submitter():
            mine = []
            assert go.wait(T)
            for i in range(300):
                try:
                    f = m.submit(int, str(i))
                except errors.NotRunningError:
                    refused.append(i)
                    break
                cf.Future.add_done_callback(f, lambda f: (ends_lock.acquire(), ends.append(f),
                                                          ends_lock.release()))
                mine.append(f)
            futures.extend(mine)
        threads = [threading.Thread(target=submitter) for _ in range(8)]
        for t in threads:
            t.start()
        go.set()
        if mode == 'drain':
            stopped, n_ran, n_cancelled = m.stop_within(T * 1_000_000)
            assert stopped and n_cancelled == 0
        else:
            m.stop(Tether.StopMode.CANCEL)
        for t in threads:
            t.join(T)
            assert not t.is_alive()
        # After the stop returned, every accepted job has ended, once.
        assert all(f.done() for f in futures)
        assert len(ends) == len(futures) == len({id(f) for f in ends})
        if mode == 'drain':
            # Those that ended after the lane closed, at most all of them.
            assert n_ran <= len(futures)
        for f in futures:
            if mode == 'drain' or not f.cancelled():
                f.result(0)
        stats = m.dup_stats().unpack()
        assert stats['running'] == 0


def test_manager_dropped_with_lane_work_queued():
    m = Tether.LoopManager.new(None)
    m.start(None)
    _, gate, parked_future = parked(m)
    futures = [m.submit(int, str(i)) for i in range(200)]
    del m
    gate.set()
    assert Tether.LoopManager.wait_detached(T * 1_000_000)
    assert [f.result(0) for f in futures] == list(range(200))


def test_stop_within_and_n_pending_see_lane_work(manager):
    _, gate, parked_future = parked(manager)
    futures = [manager.submit(int) for _ in range(5)]
    assert manager.get_n_pending() >= 5
    outcome = []
    stopper = threading.Thread(
        target=lambda: outcome.append(manager.stop_within(T * 1_000_000)))
    stopper.start()
    stopper.join(0.2)               # the lane's hold keeps the stop waiting
    assert outcome == []
    gate.set()
    stopper.join(T)
    assert outcome and outcome[0][0]
    assert all(f.done() for f in futures)
    assert parked_future.result(0) == 'parked'


_MEMORY_SCRIPT = textwrap.dedent('''
    import gc, sys, threading
    import gi
    gi.require_version('Tether', '1.0')
    from gi.repository import Tether

    def rss():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096

    m = Tether.LoopManager.new(None)
    m.start(None)
    count = [0]
    def job(i):
        count[0] += 1
        return i
    def batch(n, kind):
        if kind == 'post':
            for i in range(n):
                m.post(job, i)
            m.submit(int).result(60)
        else:
            futures = [m.submit(job, i) for i in range(n)]
            for f in futures:
                f.result(60)
    for kind in ('post', 'submit'):
        batch(50_000, kind)             # warm-up: caches, arenas
        gc.collect()
        before = rss()
        for _ in range(20):
            batch(50_000, kind)         # 1,000,000 submissions
        gc.collect()
        grew = rss() - before
        print(kind, grew)
        assert grew < 20 * 1024 * 1024, (kind, grew)
    assert count[0] == 2 * 21 * 50_000
    ok, _, _ = m.stop_within(-1)
    assert ok
''')


@pytest.mark.skipif(not os.path.exists('/proc/self/statm'), reason='needs /proc for RSS')
def test_memory_flat_over_a_million_keyword_submissions():
    result = subprocess.run([sys.executable, '-c', _MEMORY_SCRIPT], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


_EXIT_SCRIPT = textwrap.dedent('''
    import threading
    import gi
    gi.require_version('Tether', '1.0')
    from gi.repository import Tether

    m = Tether.LoopManager.new(None)
    m.start(None)
    gate = threading.Event()
    m.post(gate.wait, 60)
    for i in range(100):
        m.post(print, i, flush=True)
    gate.set()
    # Exits with the manager running and jobs queued: the drain at exit runs them.
''')


def test_lane_work_drained_at_exit():
    result = subprocess.run([sys.executable, '-c', _EXIT_SCRIPT], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(i) for i in range(100)]


def test_await_of_a_cancelled_future_raises_cancelled_error(manager):
    _, gate, parked_future = parked(manager)
    queued = manager.submit(int)

    async def main():
        task = asyncio.ensure_future(_await(queued))
        await asyncio.sleep(0)
        assert queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(main())
    gate.set()
    assert parked_future.result(T) == 'parked'


async def _await(future):
    return await future


def test_result_in_c_order_work_before_the_lane_ran_would_deadlock():
    m = Tether.LoopManager.new(None)
    m.start(None)
    try:
        def c_work(work):
            try:
                m.submit(int).result(T)
            except errors.WouldDeadlockError as error:
                return type(error).__name__
            return 'no error'
        assert m.submit(None, None, c_work).result(T) == 'WouldDeadlockError'
    finally:
        m.stop_within(T * 1_000_000)


def test_dup_stats_counts_keyword_jobs_one_by_one():
    m = Tether.LoopManager.new(None)
    m.start('kw')
    try:
        before = m.dup_stats().unpack()
        assert m.submit(lambda: 1, task_type='kw').result(T) == 1

        def fail():
            raise ValueError('no')
        with pytest.raises(ValueError):
            m.submit(fail, task_type='kw').result(T)
        entered, gate = threading.Event(), threading.Event()
        blocker = m.submit(lambda: (entered.set(), gate.wait(T)), task_type='kw')
        assert entered.wait(T)
        queued = m.submit(lambda: 'never', task_type='kw')
        assert m.dup_stats().unpack()['queued'] - before['queued'] == 1
        assert queued.cancel()
        with pytest.raises(Tether.UnknownTaskTypeError):
            m.submit(lambda: 0, task_type='other')
        gate.set()
        blocker.result(T)
        m.post(lambda: None, task_type='kw')
        assert m.submit(lambda: 2, task_type='kw').result(T) == 2
        after = m.dup_stats().unpack()
        delta = {key: after[key] - before[key]
                 for key in ('submitted', 'completed', 'failed', 'cancelled', 'rejected')}
        assert delta == {'submitted': 6, 'completed': 4, 'failed': 1, 'cancelled': 1,
                         'rejected': 1}, delta
    finally:
        m.stop_within(T * 1_000_000)
    final = m.dup_stats().unpack()
    assert final['submitted'] == final['completed'] + final['failed'] + final['cancelled']


def test_restarts_keep_no_lane_per_run_and_stats_add_up():
    """dup_stats() counts every run's keyword jobs, but a manager restarted
    many times keeps only the lanes that can still count something."""
    from gi.overrides import _tether_lane
    m = Tether.LoopManager.new(None)
    before = m.dup_stats().unpack()
    for i in range(30):
        m.start(None)
        assert m.submit(lambda i=i: i).result(T) == i
        m.post(lambda: None)
        m.stop_within(T * 1_000_000)
    port = _tether_lane._ports[hash(m)]
    assert len(port.lanes) <= 2, len(port.lanes)
    after = m.dup_stats().unpack()
    delta = {key: after[key] - before[key] for key in ('submitted', 'completed', 'failed',
                                                        'cancelled', 'running', 'queued')}
    assert delta == {'submitted': 60, 'completed': 60, 'failed': 0, 'cancelled': 0,
                     'running': 0, 'queued': 0}, delta
