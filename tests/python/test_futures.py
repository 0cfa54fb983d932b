# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tether.Future (the C future, from C-order submissions and timers) as a
real concurrent.futures.Future, and the C path's semantics (issue 14,
items 1 and 4). Every blocking call has a timeout; conftest's watchdog ends
a hung test."""

import asyncio
import concurrent.futures as cf
import contextvars
import gc
import threading

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

import pytest  # noqa: E402

LONG = 30


@pytest.fixture
def manager():
    m = Tether.LoopManager.new(None)
    m.start(None)
    yield m
    m.stop_within(LONG * 1_000_000)


def gated(manager, n=1):
    """A job blocked on an Event, and the Event: queued work stays queued."""
    entered, gate = threading.Event(), threading.Event()

    def block(work):
        entered.set()
        gate.wait(LONG)
        return 'unblocked'
    future = manager.submit(None, None, block)
    assert entered.wait(LONG)
    return future, gate


def test_c_futures_are_concurrent_futures(manager):
    future = manager.submit(None, None, lambda work: 1)
    assert isinstance(future, cf.Future)
    assert isinstance(future, Tether.Future)
    assert type(future) is Tether.Future
    assert future.result(LONG) == 1
    assert Tether.Future[int] is not None          # generic, as cf.Future
    with pytest.raises(RuntimeError):
        future.set_result(2)


def test_wait_all_first_completed_and_timeouts(manager):
    blocker, gate = gated(manager)
    quick = [manager.submit(None, None, lambda work, i: i, i) for i in range(20)]
    # The blocker runs first, so nothing else can be done yet.
    done, not_done = cf.wait(quick + [blocker], timeout=0.05)
    assert not done and len(not_done) == 21
    done, not_done = cf.wait([blocker], timeout=0.01, return_when=cf.FIRST_COMPLETED)
    assert not done
    gate.set()
    done, not_done = cf.wait([blocker], timeout=LONG, return_when=cf.FIRST_COMPLETED)
    assert done == {blocker}
    done, not_done = cf.wait(quick, timeout=LONG, return_when=cf.ALL_COMPLETED)
    assert len(done) == 20 and not not_done
    assert sorted(f.result() for f in done) == list(range(20))


def test_wait_first_exception_mixed_with_python_futures(manager):
    blocker, gate = gated(manager)

    def fail(work):
        raise ValueError('boom')
    failing = manager.submit(None, None, fail)
    plain = cf.Future()                               # never completes
    lane = manager.submit(lambda: 'lane')             # a Tether.PythonFuture
    gate.set()
    done, not_done = cf.wait([blocker, failing, plain, lane], timeout=LONG,
                             return_when=cf.FIRST_EXCEPTION)
    assert failing in done and plain in not_done
    assert isinstance(failing.exception(), ValueError)


def test_as_completed_many_managers_no_duplicates():
    managers = [Tether.LoopManager.new(None) for _ in range(4)]
    for m in managers:
        m.start(None)
    try:
        futures = [managers[i % 4].submit(None, None, lambda work, i: i, i)
                   for i in range(200)]
        seen = [f.result() for f in cf.as_completed(futures, timeout=LONG)]
        assert sorted(seen) == list(range(200))
        # Done before as_completed() was called: each still exactly once.
        again = [f.result() for f in cf.as_completed(futures, timeout=LONG)]
        assert sorted(again) == list(range(200))
    finally:
        for m in managers:
            m.stop_within(LONG * 1_000_000)


def test_as_completed_order_of_completion(manager):
    other = Tether.LoopManager.new(None)
    other.start(None)
    try:
        slow, gate = gated(manager)
        fast = other.submit(None, None, lambda work: 'fast')
        iterator = cf.as_completed([slow, fast], timeout=LONG)
        assert next(iterator) is fast
        gate.set()
        assert next(iterator) is slow
    finally:
        other.stop_within(LONG * 1_000_000)


def test_wrap_future(manager):
    async def main():
        value = await asyncio.wrap_future(manager.submit(None, None, lambda work: 9))
        blocker, gate = gated(manager)
        queued = manager.submit(None, None, lambda work: 'never')
        wrapped = asyncio.wrap_future(queued)
        wrapped.cancel()
        await asyncio.sleep(0)
        gate.set()
        return value, await asyncio.wait_for(asyncio.wrap_future(blocker), LONG), queued
    value, unblocked, queued = asyncio.run(main())
    assert (value, unblocked) == (9, 'unblocked')
    queued.exception  # noqa: B018
    assert cf.wait([queued], timeout=LONG).done == {queued}
    assert queued.cancelled()


def test_running_and_cancel_return_values(manager):
    blocker, gate = gated(manager)
    queued = manager.submit(None, None, lambda work: 'queued')
    timer = manager.submit_after(3_600_000_000, lambda: 'timer')
    assert blocker.running() and not queued.running() and not timer.running()
    assert queued.cancel() is True and queued.cancelled()
    assert timer.cancel() is True and timer.cancelled()
    # Running work only sees its cancellable fire: cancel() says False.
    entered = threading.Event()

    def watch(work):
        entered.set()
        gate.wait(LONG)
        return 'ran, cancelled=%s' % work.is_cancelled()
    gate.set()
    assert blocker.result(LONG) == 'unblocked'
    gate.clear()
    running = manager.submit(None, None, watch)
    assert entered.wait(LONG)
    assert running.cancel() is False
    gate.set()
    assert running.result(LONG) == 'ran, cancelled=True' and not running.running()
    assert running.cancel() is False                # done: unchanged
    assert queued.cancel() is True                  # still cancelled


def test_result_timeout_is_tether_timed_out(manager):
    blocker, gate = gated(manager)
    with pytest.raises(Tether.TimedOutError) as info:
        blocker.result(timeout=0.01)
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, GLib.Error)
    assert 'Future.result()' in info.value.message
    with pytest.raises(TimeoutError):
        blocker.exception(timeout=0.01)
    gate.set()
    assert blocker.result(LONG) == 'unblocked'


def test_done_callbacks_in_a_chosen_context_never_inline(manager):
    context = GLib.MainContext.new()
    calls = []
    done = manager.submit(None, None, lambda work: 1)
    assert done.result(LONG) == 1
    done.add_done_callback(lambda f: calls.append(('done', threading.get_ident())),
                           context=context)
    assert calls == []                              # not inline, even though done
    blocker, gate = gated(manager)
    queued = manager.submit(None, None, lambda work: 2)
    queued.add_done_callback(lambda f: calls.append(('queued', f.cancelled())), context=context)
    assert queued.cancel() is True
    assert calls == []                              # never inside cancel()
    gate.set()
    deadline = GLib.get_monotonic_time() + LONG * 1_000_000
    while len(calls) < 2 and GLib.get_monotonic_time() < deadline:
        context.iteration(True)
    assert ('done', threading.get_ident()) in calls
    assert ('queued', True) in calls
    with pytest.raises(TypeError):
        done.add_done_callback(print, context=42)


@pytest.mark.parametrize('error', [cf.CancelledError, asyncio.CancelledError])
def test_cancelled_error_ends_cancelled(manager, error):
    def raise_it(work):
        raise error()

    async def raise_async(work):
        await asyncio.sleep(0)
        raise error()
    for func in (raise_it, raise_async):
        future = manager.submit(None, None, func)
        with pytest.raises(cf.CancelledError):
            future.result(LONG)
        assert future.cancelled()
        assert future.get_status() == Tether.FutureStatus.CANCELLED


def test_contextvars_copied_into_work(manager):
    var = contextvars.ContextVar('var', default='unset')
    var.set('submitter')

    def read(work):
        value = var.get()
        var.set('changed in work')                  # a copy: not seen here
        return value

    async def read_async(work):
        await asyncio.sleep(0)
        return var.get()
    assert manager.submit(None, None, read).result(LONG) == 'submitter'
    assert manager.submit(None, None, read_async).result(LONG) == 'submitter'
    assert manager.submit_after(0, var.get).result(LONG) == 'submitter'
    assert manager.submit_at(0, var.get).result(LONG) == 'submitter'
    assert var.get() == 'submitter'


def test_keyword_timers(manager):
    assert manager.submit_after(1000, lambda a, b=0: a + b, 1, b=2).result(LONG) == 3

    async def double(n):
        return n * 2
    assert manager.submit_at(GLib.get_monotonic_time(), double, 21).result(LONG) == 42
    # The C-order form still passes the Work handle.
    assert manager.submit_after(None, 0, None, lambda work, n: n, 5).result(LONG) == 5
    with pytest.raises(TypeError):
        manager.submit_after(1000, 42)
    with pytest.raises(ValueError):
        manager.submit_after(-1, print)


def test_manager_thread_named_and_forgotten():
    m = Tether.LoopManager.new('named-thread')
    m.start(None)
    names = m.submit(None, None, lambda work: (threading.current_thread().name,
                                               threading.get_ident())).result(LONG)
    assert names[0] == 'tether:named-thread'
    assert any(t.name == 'tether:named-thread' for t in threading.enumerate())
    m.stop_within(LONG * 1_000_000)
    del m
    gc.collect()
    assert Tether.LoopManager.wait_detached(LONG * 1_000_000)
    assert names[1] not in {t.ident for t in threading.enumerate()}
    assert not any(t.name == 'tether:named-thread' for t in threading.enumerate())
