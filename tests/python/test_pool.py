# SPDX-License-Identifier: LGPL-2.1-or-later
"""``Tether.Pool`` from Python: a :class:`concurrent.futures.Executor`
(submit, map, shutdown, ``with``, ``loop.run_in_executor``) running work on
N loop threads. Concurrency is shown by rendezvous, not by timing; every
wait has a timeout."""

import asyncio
import concurrent.futures as cf
import contextvars
import os
import subprocess
import sys
import threading
import time

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import Gio, Tether  # noqa: E402

T = 30          # seconds: any single wait

var = contextvars.ContextVar('var', default='unset')


@pytest.fixture
def pool():
    p = Tether.Pool('test-pool', 2)
    p.start()
    yield p
    p.shutdown(wait=True)


def test_is_an_executor(pool):
    assert isinstance(pool, cf.Executor)
    assert pool.get_n_threads() == 2
    future = pool.submit(pow, 2, 10)
    assert isinstance(future, cf.Future)
    assert future.result(T) == 1024
    assert list(pool.map(lambda x: x * 3, range(6), timeout=T)) == [0, 3, 6, 9, 12, 15]


def test_threads_run_at_once(pool):
    """Two jobs that wait for each other can only both finish if the pool
    runs them on two threads at the same time."""
    barrier = threading.Barrier(2, timeout=T)
    names = [pool.submit(lambda: (barrier.wait(), threading.current_thread().name)[1])
             for _ in range(2)]
    got = sorted(f.result(T) for f in names)
    assert got == ['tether:test-pool/0', 'tether:test-pool/1']


def test_context_and_asyncio(pool):
    token = var.set('submitter')
    try:
        assert pool.submit(var.get).result(T) == 'submitter'
    finally:
        var.reset(token)

    async def add(a, b):
        await asyncio.sleep(0)
        return a + b
    assert pool.submit(add, 2, 3).result(T) == 5

    async def main():
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, sum, [1, 2, 3])
    assert asyncio.run(main()) == 6


def test_exceptions_and_cancellation(pool):
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(T)
    gate = threading.Event()
    entered = threading.Barrier(3, timeout=T)
    holders = [pool.submit(lambda: (entered.wait(), gate.wait(T))) for _ in range(2)]
    entered.wait()                          # both threads are held
    queued = pool.submit(int, '1')
    cancellable = Gio.Cancellable()
    by_cancellable = pool.submit(int, '2', cancellable=cancellable)
    assert pool.get_n_pending() == 2
    assert queued.cancel()
    cancellable.cancel()
    with pytest.raises(cf.CancelledError):
        by_cancellable.result(T)
    gate.set()
    for h in holders:
        h.result(T)
    assert queued.cancelled()


def test_wait_in_pool_refused_when_nobody_else_can_run_it():
    with Tether.Pool('single', 1) as single:
        def nested():
            inner = single.submit(int, '7')
            with pytest.raises(Tether.WouldDeadlockError):
                inner.result(T)
            return 'refused'
        assert single.submit(nested).result(T) == 'refused'


def test_shutdown_drains_or_cancels():
    pool = Tether.Pool(None, 1)
    pool.start()
    gate = threading.Event()
    entered = threading.Event()
    holder = pool.submit(lambda: (entered.set(), gate.wait(T)))
    assert entered.wait(T)
    later = [pool.submit(int, str(i)) for i in range(5)]
    threading.Timer(0.05, gate.set).start()
    pool.shutdown(wait=True)
    assert holder.result(0) == (None, True)
    assert [f.result(0) for f in later] == [0, 1, 2, 3, 4]
    with pytest.raises(Tether.NotRunningError):
        pool.submit(int, '1')

    pool = Tether.Pool(None, 1)
    pool.start()
    entered.clear()
    gate.clear()
    holder = pool.submit(lambda: (entered.set(), gate.wait(T)))
    assert entered.wait(T)
    later = [pool.submit(int, str(i)) for i in range(5)]
    threading.Timer(0.05, gate.set).start()
    pool.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() for f in later)


def test_bad_arguments():
    with pytest.raises(ValueError):
        Tether.Pool('x', -1)
    with pytest.raises(TypeError):
        Tether.Pool(42)
    with Tether.Pool(None, 1) as p:
        with pytest.raises(TypeError):
            p.submit(42)
        with pytest.raises(TypeError):
            p.submit()
        with pytest.raises(TypeError):
            p.submit(int, task_type=3)


def test_post(pool):
    done = threading.Event()
    pool.post(done.set)
    assert done.wait(T)


def test_executor_interface(pool):
    manager = Tether.LoopManager.new(None)
    assert isinstance(pool, Tether.Executor)
    assert isinstance(manager, Tether.Executor)


def test_max_pending_refuses_with_busy():
    with Tether.Pool(None, 1) as pool:
        pool.set_max_pending(1)
        gate, entered = threading.Event(), threading.Event()
        holder = pool.submit(lambda: (entered.set(), gate.wait(T)))
        assert entered.wait(T)
        queued = pool.submit(int, '1')
        with pytest.raises(Tether.BusyError):
            pool.submit(int, '2')
        gate.set()
        assert queued.result(T) == 1
        holder.result(T)


def test_work_queued_at_interpreter_exit_runs():
    """A pool still running when the interpreter exits is drained: its
    queued work runs before the process ends, none is dropped unseen."""
    script = (
        "import gi, time\n"
        "gi.require_version('Tether', '1.0')\n"
        "from gi.repository import Tether\n"
        "pool = Tether.Pool('exit', 2)\n"
        "pool.start()\n"
        "pool.submit(time.sleep, 0.2)\n"
        "for i in range(5):\n"
        "    pool.submit(print, 'ran', i, flush=True)\n"
    )
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=T, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split('\n')[:-1]) == ['ran %d' % i for i in range(5)]


def test_timers(pool):
    """submit_after()/submit_at(): never before their time, keyword and C
    forms; a cancel removes a timer not yet due, a stop ends one cancelled."""
    from gi.repository import GLib
    start = GLib.get_monotonic_time()
    late = pool.submit_after(20_000, GLib.get_monotonic_time)
    assert late.result(timeout=T) >= start + 20_000
    at = pool.submit_at(None, GLib.get_monotonic_time() - 1000, None,
                        lambda work: work.return_int64(7))
    assert at.result(timeout=T) == 7
    never = pool.submit_after(3600 * 1_000_000, lambda: 'never')
    assert never.cancel()
    assert never.cancelled()
    pending = pool.submit_at(GLib.get_monotonic_time() + 3600 * 1_000_000, lambda: 'never')
    pool.shutdown(wait=True)
    assert pending.cancelled()
    with pytest.raises(ValueError):
        Tether.Pool('bad-timer', 1).submit_after(-1, print)


def test_submit_timeout_waits_for_room():
    """A full queue makes a submission wait up to submit-timeout, then Busy."""
    pool = Tether.Pool('room', 1)
    pool.start()
    pool.set_max_pending(1)
    gate = threading.Event()
    first = pool.submit(gate.wait, T)
    queued = pool.submit(lambda: 2)
    pool.set_submit_timeout(10_000)
    with pytest.raises(Tether.BusyError):
        pool.submit(lambda: 3)
    pool.set_submit_timeout(-1)
    threading.Timer(0.05, gate.set).start()
    third = pool.submit(lambda: 3)          # waits until the thread takes `queued`
    assert (first.result(timeout=T), queued.result(timeout=T),
            third.result(timeout=T)) == (True, 2, 3)
    pool.shutdown()


# -- Registry and "the current pool" ---------------------------------------

def test_registry_get_or_create_and_kinds():
    with pytest.raises(Tether.ManagerNotFoundError) as raised:
        Tether.Pool.get_or_create('py-preg', strict=True)
    assert 'Pool.get_or_create() without strict=True' in str(raised.value)
    pool = Tether.Pool.get_or_create('py-preg', 2)
    assert isinstance(pool, Tether.Pool) and isinstance(pool, cf.Executor)
    assert not pool.is_running()
    assert Tether.Pool.get_or_create('py-preg') is pool
    assert Tether.Pool.get_or_create('py-preg', 2, strict=True) is pool
    with pytest.raises(Tether.InvalidArgumentError):
        Tether.Pool.get_or_create('py-preg', 3)
    forced = Tether.Pool.get_or_create('py-preg', 1, force_create=True)
    assert forced is not pool and forced.get_n_threads() == 1
    # One namespace with managers, both ways.
    Tether.LoopManager.get_or_create('py-preg-m')
    with pytest.raises(Tether.InvalidArgumentError, match='registered as a manager, not a pool'):
        Tether.Pool.get_or_create('py-preg-m')
    with pytest.raises(Tether.InvalidArgumentError, match='registered as a pool, not a manager'):
        Tether.LoopManager.get_or_create('py-preg')
    with pytest.raises(ValueError):
        Tether.Pool.get_or_create('py-preg', -1)
    with pytest.raises(TypeError):
        Tether.Pool.get_or_create(3)
    kinds = {entry['id']: entry for entry in Tether.registry_snapshot().unpack()}
    assert kinds['py-preg']['kind'] == 'pool' and kinds['py-preg']['n-threads'] == 1
    assert kinds['py-preg-m']['kind'] == 'manager'


def test_registry_get_or_start_and_ref_current():
    assert Tether.Pool.ref_current() is None          # the main thread
    pool = Tether.Pool.get_or_start('py-preg-start', 2, task_type='io')
    try:
        assert pool.is_running()
        assert Tether.Pool.get_or_start('py-preg-start', task_type='io') is pool
        with pytest.raises(Tether.UnknownTaskTypeError):
            Tether.Pool.get_or_start('py-preg-start')

        def inside():
            return (Tether.Pool.ref_current(),
                    Tether.Pool.get_or_create('py-preg-start', strict=True))

        current, found = pool.submit(inside, task_type='io').result(T)
        assert current is pool and found is pool
        # A thread made with Tether.Thread resolves through its parent.
        seen = []
        thread = Tether.Thread(target=lambda: seen.append(
            (Tether.Pool.get_or_create('py-preg-start', strict=True), Tether.Pool.ref_current())))
        thread.start()
        thread.join(T)
        assert seen == [(pool, None)]
        manager = Tether.LoopManager.get_or_start('py-preg-plain')
        assert manager.submit(Tether.Pool.ref_current).result(T) is None
        manager.stop()
    finally:
        pool.shutdown(wait=True)


def test_stop_within_cancels_at_the_deadline():
    """stop_within(): what the deadline catches ends cancelled, counted."""
    pool = Tether.Pool('within', 1)
    pool.start()
    entered = threading.Event()

    def until_cancelled(work):
        cancelled = threading.Event()
        work.get_cancellable().connect(cancelled.set)
        entered.set()
        assert cancelled.wait(T)
        raise asyncio.CancelledError()

    running = pool.submit(None, None, until_cancelled)
    assert entered.wait(T)
    queued = [pool.submit(int, str(i)) for i in range(3)]
    assert pool.stop_within(20_000) == (True, 0, 4)
    assert running.cancelled() and all(f.cancelled() for f in queued)


def test_exit_drain_of_a_pool_is_bounded_by_the_exit_timeout():
    """With TETHER_PY_EXIT_TIMEOUT, a pool's work still queued at exit when
    the deadline passes ends cancelled, reported on stderr, and the process
    exits instead of waiting for it."""
    script = (
        "import gi, threading\n"
        "gi.require_version('Tether', '1.0')\n"
        "from gi.repository import Tether\n"
        "pool = Tether.Pool('exit-bounded', 1)\n"
        "pool.start()\n"
        "def until_cancelled(work):\n"
        "    cancelled = threading.Event()\n"
        "    work.get_cancellable().connect(cancelled.set)\n"
        "    cancelled.wait(60)\n"
        "    work.return_boolean(True)\n"
        "pool.submit(None, None, until_cancelled)\n"
        "for i in range(3):\n"
        "    pool.submit(print, 'ran', i, flush=True)\n"
    )
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=T, env=dict(os.environ, TETHER_PY_EXIT_TIMEOUT='0.2'))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ''
    assert "pool 'exit-bounded' ended 3 accepted job(s) cancelled" in proc.stderr, proc.stderr


def test_submissions_do_not_leak():
    """Every pool submission goes as a GClosure, keyword and C-order forms,
    posts and timers alike: 16,000 of each kind grow the process by well
    under what PyGObject's per-callback leak (~110 bytes each, 1,760 KB)
    would. The peak RSS moves by up to about 500 KB without any leak (the
    in-flight set and the allocators' caches, under load), whatever the
    count: the count is what separates a leak from that."""
    import resource

    posted = []

    def c_work(work, x):
        work.return_int(int(x))

    kinds = {
        'keyword submit': lambda pool: pool.submit(int, '1'),
        'keyword timer': lambda pool: pool.submit_at(0, int, '1'),
        'C-order submit': lambda pool: pool.submit(None, None, c_work, '1'),
        'C-order timer': lambda pool: pool.submit_after(None, 0, None, c_work, '1'),
        'keyword post': lambda pool: pool.post(posted.append, 1),
        'C-order post': lambda pool: pool.post(None, posted.append, 1),
    }

    def run(pool, submit, n):
        # At most 1,000 in flight, posts as well as futures: a backlog of
        # queued posts would raise the peak on its own (under load the
        # threads, which need the GIL, fall behind this loop).
        futures = []
        n_posts = len(posted)

        def settle():
            assert all(f.result(T) == 1 for f in futures)
            futures.clear()
            deadline = time.monotonic() + T
            while len(posted) < n_posts and time.monotonic() < deadline:
                time.sleep(0.001)
            assert len(posted) == n_posts

        for i in range(n):
            future = submit(pool)
            if isinstance(future, Tether.Future):
                futures.append(future)
            else:
                n_posts += 1
            if i % 1000 == 999:
                settle()
        settle()

    growth = {}
    with Tether.Pool('no-leak', 2) as pool:
        # The allocators' and caches' first growth, every form's, before
        # any is measured.
        for submit in kinds.values():
            run(pool, submit, 2000)
        for name, submit in kinds.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            run(pool, submit, 16000)
            growth[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert all(kb < 800 for kb in growth.values()), 'KB of growth per form: %s' % growth


def test_async_def_on_a_timer(pool):
    """An async def function given to submit_after() runs as a Task on the
    pool thread's asyncio loop."""
    async def later(x):
        await asyncio.sleep(0)
        return x * 2

    assert pool.submit_after(1000, later, 21).result(T) == 42
