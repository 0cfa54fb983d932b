# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tether from Python: the C API through PyGObject plus the override."""

import asyncio
import concurrent.futures
import gc
import logging
import threading
import time

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Gio, GObject, Tether  # noqa: E402

LONG = 10.0  # seconds; generous, for anything expected to finish


def tether_error(code):
    return lambda e: isinstance(e, GLib.Error) and e.matches(Tether.error_quark(), code)


def gate():
    """An event work can block on, with a bounded wait so no test hangs."""
    event = threading.Event()

    def work(w, value=None):
        assert event.wait(LONG)
        return value

    return event, work


@pytest.mark.parametrize('value', [
    42, -(1 << 40), 2.5, 'text', '', True, False, None,
    GLib.Variant('a{sv}', {'k': GLib.Variant('i', 1)}),
    {'python': ['object', 1]}, (1, 2), b'bytes',
])
def test_values_round_trip(manager, value):
    got = manager.submit(None, None, lambda w: value).result(LONG)
    if isinstance(value, GLib.Variant):
        assert got.equal(value)
    else:
        assert got == value
        assert type(got) is type(value)


def test_gobject_value_and_explicit_returns(manager):
    obj = Gio.SimpleAction.new('a', None)
    assert manager.submit(None, None, lambda w: obj).result(LONG) is obj

    def typed(w):
        w.return_int(7)                       # a C int, not Python's int64
    future = manager.submit(None, None, typed)
    assert future.result(LONG) == 7
    assert future.get_int() == 7

    def gvalue(w):
        return GObject.Value(GObject.TYPE_UINT, 9)
    assert manager.submit(None, None, gvalue).result(LONG) == 9


def test_work_gets_arguments_and_runs_on_manager_thread(manager):
    def work(w, a, b):
        return (a + b, threading.get_native_id(), w.get_manager_id())
    total, native, mid = manager.submit(None, None, work, 2, 3).result(LONG)
    assert total == 5
    assert native != threading.get_native_id()
    assert mid == manager.get_id()


def test_exception_becomes_error_with_type_and_message(manager):
    class Custom(Exception):
        pass

    def boom(w):
        raise Custom('bad input')

    future = manager.submit(None, None, boom)
    with pytest.raises(Custom, match='bad input') as info:
        future.result(LONG)
    assert future.get_status() == Tether.FutureStatus.FAILED
    assert isinstance(future.exception(), Custom)
    assert info.value.__traceback__ is not None        # where the work raised
    error = future.dup_error()
    assert error.matches(Tether.error_quark(), Tether.Error.FAILED)
    assert 'Custom: bad input' in error.message
    # The C view of the same future: a GLib.Error from wait().
    with pytest.raises(GLib.Error) as raw:
        future.wait(0)
    assert 'Custom: bad input' in raw.value.message


def test_keyboard_interrupt_in_work_is_its_outcome(manager):
    def interrupted(w):
        raise KeyboardInterrupt('stop')

    future = manager.submit(None, None, interrupted)
    with pytest.raises(KeyboardInterrupt):
        future.result(LONG)
    assert 'KeyboardInterrupt: stop' in future.dup_error().message
    # The manager's thread survived and still runs work.
    assert manager.submit(None, None, lambda w: 1).result(LONG) == 1


def test_deferred_completion_from_the_managers_loop(manager):
    def later(w):
        source = GLib.timeout_source_new(10)
        source.set_callback(lambda *a: w.return_string('later') or GLib.SOURCE_REMOVE)
        source.attach(GLib.MainContext.get_thread_default())
        return Tether.DEFERRED
    assert manager.submit(None, None, later).result(LONG) == 'later'


def test_returning_after_explicit_return_warns(manager):
    def twice(w):
        w.return_int(1)
        return 2
    with pytest.warns(RuntimeWarning, match='first outcome stands'):
        future = manager.submit(None, None, twice)
        assert future.result(LONG) == 1
        # The future completes inside w.return_int(), before the override
        # warns on the manager's thread: work runs in order, so once the
        # next job has run, the warning has been issued.
        manager.submit(None, None, lambda w: None).result(LONG)


def test_dropped_work_handle_is_abandoned_not_hung(manager):
    def keep_and_drop(w):
        return Tether.DEFERRED                    # and never returns
    future = manager.submit(None, None, keep_and_drop)
    with pytest.raises(GLib.Error) as info:
        future.result(LONG)
    assert tether_error(Tether.Error.ABANDONED)(info.value)


def test_timeout_raises_and_leaves_work_running(manager):
    event, work = gate()
    future = manager.submit(None, None, work, 'finished')
    with pytest.raises(TimeoutError):
        future.result(timeout=0.05)
    with pytest.raises(GLib.Error) as info:
        future.wait(1000)
    assert tether_error(Tether.Error.TIMED_OUT)(info.value)
    assert not future.done()
    event.set()
    assert future.result(LONG) == 'finished'


def test_cancel_queued_work_never_runs(manager):
    event, blocker = gate()
    ran = []
    first = manager.submit(None, None, blocker)
    second = manager.submit(None, None, lambda w: ran.append(1))
    second.cancel()
    assert second.done() and second.cancelled()      # at once, while blocked
    with pytest.raises(concurrent.futures.CancelledError):
        second.result(0)
    with pytest.raises(concurrent.futures.CancelledError):
        second.exception(0)
    event.set()
    first.result(LONG)
    manager.stop(Tether.StopMode.DRAIN)
    assert ran == []


def test_cancellable_fires_in_running_work_and_value_wins(manager):
    started = threading.Event()
    cancellable = Gio.Cancellable()

    def polls(w):
        started.set()
        deadline = time.monotonic() + LONG
        while not w.is_cancelled() and time.monotonic() < deadline:
            time.sleep(0.001)
        return 'saw cancel' if w.get_cancellable().is_cancelled() else 'timeout'

    future = manager.submit(None, cancellable, polls)
    assert started.wait(LONG)
    cancellable.cancel()
    assert future.result(LONG) == 'saw cancel'
    assert not future.cancelled()


def test_task_types(manager):
    typed = Tether.LoopManager.new('typed')
    with pytest.raises(GLib.Error) as info:
        typed.submit('render', None, lambda w: 1)
    assert tether_error(Tether.Error.NOT_RUNNING)(info.value)
    typed.start('render')
    try:
        assert typed.submit('render', None, lambda w: 1).result(LONG) == 1
        for wrong in ('update', None):
            with pytest.raises(GLib.Error) as info:
                typed.submit(wrong, None, lambda w: 1)
            assert tether_error(Tether.Error.UNKNOWN_TASK_TYPE)(info.value)
            assert "'render'" in info.value.message
        with pytest.raises(GLib.Error):
            typed.post('update', lambda: None)
    finally:
        typed.stop(Tether.StopMode.DRAIN)


def test_waiting_on_own_thread_is_an_error_not_a_hang(manager):
    def nested(w):
        inner = manager.submit(None, None, lambda w2: 1)
        try:
            inner.result(LONG)
        except GLib.Error as e:
            return e.code
        return 'no error'
    assert manager.submit(None, None, nested).result(LONG) == Tether.Error.WOULD_DEADLOCK


def test_blocking_wait_releases_the_gil(manager):
    event, work = gate()
    future = manager.submit(None, None, work, 'v')
    progress = []

    def spin():
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            progress.append(1)
        event.set()

    t = threading.Thread(target=spin)
    t.start()
    assert future.result(LONG) == 'v'                 # blocks in C meanwhile
    t.join()
    assert len(progress) > 1000


def test_done_callbacks_thread_and_order(manager):
    event, work = gate()
    future = manager.submit(None, None, work, 5)
    seen = []
    finished = threading.Event()
    future.add_done_callback(lambda f: seen.append(('a', threading.current_thread().name, f.result(0))))
    future.add_done_callback(lambda f: 1 / 0)          # logged, not fatal
    future.add_done_callback(lambda f: (seen.append(('b',)), finished.set()))
    assert seen == []                                  # never inside add/cancel
    event.set()
    assert finished.wait(LONG)
    assert seen == [('a', 'tether-callbacks', 5), ('b',)]
    # Already done: runs at once, in this thread.
    future.add_done_callback(lambda f: seen.append(threading.current_thread().name))
    assert seen[-1] == threading.current_thread().name


def test_done_callback_after_cancel_is_not_inside_cancel(manager):
    event, blocker = gate()
    manager.submit(None, None, blocker)
    queued = manager.submit(None, None, lambda w: 1)
    where = []
    done = threading.Event()
    queued.add_done_callback(lambda f: (where.append(threading.current_thread().name), done.set()))
    queued.cancel()
    assert done.wait(LONG)
    assert where == ['tether-callbacks']
    event.set()


def test_await_on_asyncio_loop(manager):
    async def main():
        a = await manager.submit(None, None, lambda w: 20)
        b = await asyncio.wait_for(manager.submit(None, None, lambda w: 22), LONG)
        with pytest.raises(ValueError):
            await manager.submit(None, None, lambda w: int('x'))
        results = await asyncio.gather(*(manager.submit(None, None, lambda w, i=i: i)
                                         for i in range(50)))
        return a + b, results
    total, results = asyncio.run(main())
    assert total == 42
    assert results == list(range(50))


def test_cancelling_the_awaiting_task_cancels_the_work(manager):
    event, blocker = gate()
    manager.submit(None, None, blocker)
    queued = manager.submit(None, None, lambda w: 'ran')

    async def main():
        awaiting = asyncio.Event()

        async def waits(f):
            awaiting.set()
            return await f      # the queued work cannot end: the gate holds it

        task = asyncio.ensure_future(waits(queued))
        # One loop thread: once this resumes, the task is suspended in its await.
        await awaiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert queued.cancelled()
    event.set()


def test_submit_async_and_finish(manager):
    loop = GLib.MainLoop()
    results = []

    def done(source, result, *user_data):
        try:
            results.append((source.submit_finish(result), user_data))
        except Exception as e:               # noqa: BLE001 - recorded for the assert
            results.append((e, user_data))
        if len(results) == 3:
            loop.quit()

    manager.submit_async(None, lambda w, x: x + 1, (41,), None, done, 'ud')
    manager.submit_async(None, lambda w: int('x'), None, None, done)
    Tether.LoopManager.new('stopped').submit_async(None, lambda w: 1, None, None, done)
    GLib.timeout_add_seconds(int(LONG), loop.quit)
    loop.run()
    successes = [r for r in results if isinstance(r[0], tuple)]
    assert [(tuple(r[0]), r[1]) for r in successes] == [((True, 42), ('ud',))]
    assert any(isinstance(r[0], ValueError) for r in results)
    assert any(tether_error(Tether.Error.NOT_RUNNING)(r[0]) for r in results)


def test_post_runs_and_exceptions_are_logged(manager, caplog):
    counter = []
    manager.post(None, counter.append, 1)
    with caplog.at_level(logging.ERROR, logger='gi.overrides.Tether'):
        manager.post(None, lambda: 1 / 0)
        manager.submit(None, None, lambda w: None).result(LONG)   # queue barrier
    assert counter == [1]
    assert any('ZeroDivisionError' in (r.exc_text or '') or r.exc_info for r in caplog.records)


def test_timers_and_stop_modes():
    m = Tether.LoopManager.new('timers')
    m.start(None)
    order = []
    late = m.submit_after(None, 30_000, None, lambda w: order.append('after'))
    at = m.submit_at(None, GLib.get_monotonic_time() + 10_000, None,
                     lambda w: order.append('at'))
    far = m.submit_after(None, 60 * 1_000_000, None, lambda w: 'never')
    late.result(LONG)
    at.result(LONG)
    far.cancel()
    assert far.cancelled()
    assert sorted(order) == ['after', 'at']

    event, blocker = gate()
    m.submit(None, None, blocker)
    queued = [m.submit(None, None, lambda w, i=i: i) for i in range(20)]
    threading.Timer(0.05, event.set).start()
    m.stop(Tether.StopMode.DRAIN)                     # runs all queued work
    assert [f.result(0) for f in queued] == list(range(20))

    m.start(None)                                     # restartable
    event, blocker = gate()
    m.submit(None, None, blocker)
    queued = [m.submit(None, None, lambda w: 1) for _ in range(20)]
    threading.Timer(0.05, event.set).start()
    m.stop(Tether.StopMode.CANCEL)
    assert all(f.cancelled() for f in queued)


def test_dropping_the_future_does_not_cancel(manager):
    ran = threading.Event()
    manager.submit(None, None, lambda w: ran.set())
    gc.collect()
    assert ran.wait(LONG)


def test_lineage_from_python_threads():
    m = Tether.LoopManager.get_or_create('py-lineage', Tether.LookupFlags.NONE)
    m.start(None)
    try:
        seen = {}

        def child():
            seen['child'] = Tether.LoopManager.get_or_create(
                'py-lineage', Tether.LookupFlags.STRICT) is m
            own = Tether.LoopManager.get_or_create('py-lineage', Tether.LookupFlags.FORCE_CREATE)
            seen['own'] = own is not m

            def grandchild():
                seen['grandchild'] = Tether.LoopManager.get_or_create(
                    'py-lineage', Tether.LookupFlags.STRICT) is own
            t = Tether.Thread(target=grandchild)
            t.start()
            t.join()

        def outsider():
            try:
                Tether.LoopManager.get_or_create('py-lineage', Tether.LookupFlags.STRICT)
                seen['outsider'] = 'found'
            except GLib.Error as e:
                seen['outsider'] = e.code

        class Sub(Tether.Thread):
            def run(self):
                seen['subclass'] = Tether.LoopManager.get_or_create(
                    'py-lineage', Tether.LookupFlags.STRICT) is m

        for t in (Tether.Thread(target=child), threading.Thread(target=outsider), Sub()):
            t.start()
            t.join()
        # The child's FORCE_CREATE did not replace the parent's entry.
        assert Tether.LoopManager.get_or_create('py-lineage', Tether.LookupFlags.STRICT) is m
        assert seen == {'child': True, 'own': True, 'grandchild': True,
                        'outsider': Tether.Error.MANAGER_NOT_FOUND, 'subclass': True}
    finally:
        m.stop(Tether.StopMode.DRAIN)


def test_lineage_token_in_a_thread_pool():
    m = Tether.LoopManager.get_or_create('py-pool', Tether.LookupFlags.NONE)
    m.start(None)
    try:
        def handler(token, i):
            with token:
                found = Tether.LoopManager.get_or_create('py-pool', Tether.LookupFlags.STRICT)
                return found.submit(None, None, lambda w: i * i).result(LONG)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(handler, Tether.Lineage.capture(), i) for i in range(64)]
            assert [f.result(LONG) for f in futures] == [i * i for i in range(64)]
            # A pool job without the token is outside the lineage.
            with pytest.raises(GLib.Error) as info:
                pool.submit(Tether.LoopManager.get_or_create, 'py-pool',
                            Tether.LookupFlags.STRICT).result(LONG)
            assert tether_error(Tether.Error.MANAGER_NOT_FOUND)(info.value)
    finally:
        m.stop(Tether.StopMode.DRAIN)


def test_attach_twice_is_an_error():
    errors = []

    def body():
        Tether.LoopManager.get_or_create('attach-once', Tether.LookupFlags.NONE)
        try:
            Tether.Lineage.capture().attach()
        except GLib.Error as e:
            errors.append(e.code)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert errors == [Tether.Error.INVALID_ARGUMENT]


def test_registry_snapshot(manager):
    m = Tether.LoopManager.get_or_create('snap', Tether.LookupFlags.NONE)
    m.start('render')
    try:
        rows = [r for r in Tether.registry_snapshot().unpack() if r['id'] == 'snap']
        assert rows and rows[0]['task-type'] == 'render' and rows[0]['running']
    finally:
        m.stop(Tether.StopMode.DRAIN)


def test_hundred_python_threads_hammer_one_manager(manager):
    per_thread = 200
    counts = [0]
    lock = threading.Lock()
    failures = []

    def bump(w, n):
        with lock:
            counts[0] += 1
        return n

    def hammer(t):
        try:
            futures = [manager.submit(None, None, bump, t * per_thread + i)
                       for i in range(per_thread)]
            for i, f in enumerate(futures):
                if i % 3 == 0:
                    manager.post(None, lambda: None)
                assert f.result(LONG) == t * per_thread + i
        except BaseException as e:          # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LONG * 6)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert counts[0] == 100 * per_thread


def test_stop_from_python_with_submissions_racing():
    m = Tether.LoopManager.new('racing-stop')
    m.start(None)
    outcomes = []
    stop = threading.Event()

    def submitter():
        while not stop.is_set():
            try:
                outcomes.append(m.submit(None, None, lambda w: 1))
            except GLib.Error as e:
                assert e.code == Tether.Error.NOT_RUNNING
                return

    threads = [threading.Thread(target=submitter) for _ in range(4)]
    for t in threads:
        t.start()
    # Stop once the race is under way: some submissions accepted.
    deadline = time.monotonic() + LONG
    while len(outcomes) < 100:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    m.stop(Tether.StopMode.CANCEL)
    stop.set()
    for t in threads:
        t.join(LONG)
    # Every accepted submission ended: a value or a cancellation, none pending.
    assert outcomes and all(f.done() for f in outcomes)
    assert all(f.get_status() in (Tether.FutureStatus.SUCCEEDED, Tether.FutureStatus.CANCELLED)
               for f in outcomes)


def test_backpressure_and_stop_within():
    m = Tether.LoopManager.new('py-limits')
    m.props.max_pending = 2
    m.start(None)
    event, blocker = gate()
    started = threading.Event()

    def hold(w):
        started.set()
        return blocker(w)

    m.submit(None, None, hold)
    assert started.wait(LONG)
    queued = [m.submit(None, None, lambda w: 1) for _ in range(2)]
    assert m.get_n_pending() == 2
    with pytest.raises(GLib.Error) as info:
        m.submit(None, None, lambda w: 1)
    assert tether_error(Tether.Error.BUSY)(info.value)
    m.set_submit_timeout(20_000)
    with pytest.raises(GLib.Error) as info:
        m.post(None, lambda: None)
    assert tether_error(Tether.Error.BUSY)(info.value)

    threading.Timer(0.05, event.set).start()
    ok, ran, cancelled = m.stop_within(int(LONG * 1e6))
    assert ok and (ran, cancelled) == (3, 0)
    assert [f.result(0) for f in queued] == [1, 1]
