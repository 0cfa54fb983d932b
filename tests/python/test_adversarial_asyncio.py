# SPDX-License-Identifier: LGPL-2.1-or-later
"""The asyncio integration under adversarial use, as CPython's asyncio,
anyio and asgiref suites would try it: managers made and dropped by many
threads with coroutine work, timers and tasks in flight; stops from other
managers' work while coroutines await across managers; restarts;
exceptions of every kind inside coroutines; interpreter exit with
coroutines pending.

Each risky scenario runs in a fresh interpreter under
faulthandler.dump_traceback_later(exit=True) and a subprocess timeout, so
a hang fails the test with every thread's stack. Each prints 'OK' last;
asyncio's leak reports ("Task was destroyed but it is pending", "coroutine
... was never awaited", "exception was never retrieved") on its stderr
fail it too.
"""

import os
import subprocess
import sys
import textwrap

import pytest

HANG = 60            # seconds: a scenario still running then is hung

PRELUDE = '''
import asyncio, faulthandler, gc, sys, threading, warnings
warnings.simplefilter('error', RuntimeWarning)
import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether
faulthandler.dump_traceback_later(%d, exit=True)
LONG = 20.0
''' % HANG

LEAKS = ('was never awaited', 'Task was destroyed but it is pending',
         'exception was never retrieved', 'Traceback')


def run_scenario(code, env=None, expect_traceback=False, dev=True, ok_last=True):
    full_env = dict(os.environ)
    full_env.update(env or {})
    dev_mode = ['-X', 'dev'] if dev else []
    proc = subprocess.run([sys.executable] + dev_mode + ['-c', PRELUDE + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=HANG + 30, env=full_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (proc.stdout.rstrip().endswith('OK') if ok_last else 'OK' in proc.stdout), \
        proc.stdout + proc.stderr
    for leak in LEAKS:
        if leak == 'Traceback' and expect_traceback:
            continue
        assert leak not in proc.stderr, proc.stderr
    return proc


def test_threads_make_start_and_drop_managers_with_coroutines_in_flight():
    """30 threads each make a manager, give it coroutine work that leaves a
    call_later timer and a free task pending, drop it and exit: every
    submission runs, wait_detached() sees every drain, nothing leaks."""
    run_scenario('''
    ran = []
    lock = threading.Lock()

    async def job(work, i):
        await asyncio.sleep(0.001)
        loop = asyncio.get_running_loop()
        loop.call_later(30, lambda: None)
        asyncio.ensure_future(asyncio.sleep(30))
        with lock:
            ran.append(i)
        return i

    def worker(n):
        m = Tether.LoopManager.new('adv-%d' % n)
        m.start(None)
        for i in range(20):
            m.submit(None, None, job, n * 100 + i)
        del m

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Tether.LoopManager.wait_detached(int(LONG * 1e6))
    assert sorted(ran) == sorted(n * 100 + i for n in range(30) for i in range(20)), len(ran)
    gc.collect()
    print('OK')
    ''')


def test_restart_gives_a_new_loop_and_closes_the_old_one():
    run_scenario('''
    async def running_loop(work):
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    m = Tether.LoopManager.new('adv-restart')
    m.start(None)
    first = m.get_asyncio_loop()
    assert m.submit(None, None, running_loop).result(LONG) is first
    m.stop(Tether.StopMode.DRAIN)
    assert first.is_closed()
    m.start(None)
    second = m.submit(None, None, running_loop).result(LONG)
    assert second is not first and not second.is_closed()
    assert m.get_asyncio_loop() is second
    m.stop(Tether.StopMode.DRAIN)
    assert second.is_closed()

    async def never():
        return 1
    coro = never()
    try:
        asyncio.run_coroutine_threadsafe(coro, second)
    except RuntimeError:
        pass
    else:
        raise AssertionError('a closed loop accepted a coroutine')
    coro.close()
    print('OK')
    ''')


def test_base_exceptions_inside_coroutines_are_outcomes():
    """SystemExit, KeyboardInterrupt and CancelledError raised by a
    coroutine, before and after it suspends, end its submission; the
    manager goes on."""
    run_scenario('''
    import concurrent.futures
    m = Tether.LoopManager.new('adv-exc')
    m.start(None)

    def raiser(exc, suspend):
        async def job(work):
            if suspend:
                await asyncio.sleep(0)
            raise exc
        return job

    for suspend in (False, True):
        for exc, expected in ((SystemExit(3), SystemExit),
                              (KeyboardInterrupt(), KeyboardInterrupt),
                              (asyncio.CancelledError(), concurrent.futures.CancelledError)):
            f = m.submit(None, None, raiser(exc, suspend))
            try:
                f.result(LONG)
            except expected:
                pass
            else:
                raise AssertionError('%r did not end the work' % exc)
        assert m.submit(None, None, lambda w: 5).result(LONG) == 5
    m.stop(Tether.StopMode.DRAIN)
    print('OK')
    ''')


def test_awaiting_futures_of_the_same_manager():
    run_scenario('''
    m = Tether.LoopManager.new('adv-same')
    m.start(None)

    async def inner(work):
        await asyncio.sleep(0.001)
        return 7

    async def outer(work):
        a = await m.submit(None, None, inner)
        b = await m.submit(None, None, lambda w: 8)
        c = await asyncio.gather(*[m.submit(None, None, inner) for _ in range(50)])
        return a + b + sum(c)

    for _ in range(20):
        assert m.submit(None, None, outer).result(LONG) == 15 + 50 * 7
    m.stop(Tether.StopMode.DRAIN)
    print('OK')
    ''')


def test_gather_a_thousand_submissions_across_three_managers():
    run_scenario('''
    managers = [Tether.LoopManager.new('adv-g%d' % i) for i in range(3)]
    for m in managers:
        m.start(None)

    async def job(work, i):
        await asyncio.sleep(0)
        return i

    async def main():
        futures = [managers[i % 3].submit(None, None, job, i) for i in range(1000)]
        return await asyncio.gather(*futures)

    assert asyncio.run(main()) == list(range(1000))

    # The same from a coroutine on one of the managers.
    async def fan_out(work):
        futures = [managers[i % 3].submit(None, None, job, i) for i in range(1000)]
        return await asyncio.gather(*futures)

    assert managers[0].submit(None, None, fan_out).result(LONG) == list(range(1000))
    for m in managers:
        m.stop(Tether.StopMode.DRAIN)
    print('OK')
    ''')


@pytest.mark.parametrize('how', ['cancel', 'within', 'cancel-from-b'])
def test_stop_while_awaiting_another_managers_future(how):
    """A coroutine on A awaits B's work; A is stopped (CANCEL, a
    stop_within deadline, or CANCEL from B's own work): A's task and B's
    work both end cancelled, the finally runs, nothing hangs."""
    run_scenario('''
    how = %r
    for _ in range(30):
        A = Tether.LoopManager.new('adv-A')
        A.start(None)
        B = Tether.LoopManager.new('adv-B')
        B.start(None)
        started = threading.Event()
        finished = []

        async def b_job(work):
            started.set()
            await asyncio.sleep(60)

        async def a_job(work):
            try:
                return await B.submit(None, None, b_job)
            finally:
                finished.append(True)

        fa = A.submit(None, None, a_job)
        assert started.wait(LONG)
        if how == 'cancel':
            A.stop(Tether.StopMode.CANCEL)
        elif how == 'within':
            A.stop_within(1000)
        else:
            B.submit(None, None, lambda w: A.stop(Tether.StopMode.CANCEL)).result(LONG)
        assert fa.wait_done(int(LONG * 1e6))
        assert fa.cancelled(), fa.get_status()
        assert finished == [True]
        _, ran, cancelled = B.stop_within(int(LONG * 1e6))
        A.stop(Tether.StopMode.DRAIN)
    print('OK')
    ''' % how)


def test_drain_stop_from_the_awaited_managers_coroutine_does_not_hang():
    """Regression: a coroutine on A awaits B's work while a coroutine on B
    stops A in DRAIN mode. The await used to wait from the callback thread,
    so the wait-cycle detection never saw that A's running task needs B:
    B's thread blocked until A drained, A's task waited for B's queued
    work, both for ever. Now the await waits from A's thread: the stop
    begins and returns (the task then gets its value), or, if the stop
    came first, the await raises TETHER_ERROR_WOULD_DEADLOCK."""
    run_scenario('''
    outcomes = {'value': 0, 'would-deadlock': 0}
    for _ in range(100):
        A = Tether.LoopManager.new('adv-A')
        A.start(None)
        B = Tether.LoopManager.new('adv-B')
        B.start(None)

        async def b_job(work):
            await asyncio.sleep(0.001)
            return 3

        async def a_job(work):
            return await B.submit(None, None, b_job)

        fa = A.submit(None, None, a_job)

        async def stopper(work):
            A.stop(Tether.StopMode.DRAIN)
            return 1

        assert B.submit(None, None, stopper).result(LONG) == 1
        try:
            assert fa.result(LONG) == 3
            outcomes['value'] += 1
        except GLib.Error as error:
            assert error.matches(Tether.error_quark(), Tether.Error.WOULD_DEADLOCK), error
            outcomes['would-deadlock'] += 1
        B.stop(Tether.StopMode.DRAIN)
        A.stop(Tether.StopMode.DRAIN)
    print(outcomes)
    print('OK')
    ''')


def test_run_coroutine_threadsafe_to_a_stopping_manager():
    """Coroutines sent with run_coroutine_threadsafe() while the manager
    stops: each concurrent future ends (value, cancelled, or refused at the
    call because the loop is closed); none is left pending, no coroutine
    is dropped unawaited. Regression: the exit cancelled only the tasks it
    saw first, and close() dropped callbacks other threads added meanwhile
    ("coroutine was never awaited", futures pending for ever, "Task was
    destroyed but it is pending"). Not in dev mode, whose per-callback stack
    capture makes the flood too slow to stop in time."""
    run_scenario('''
    import concurrent.futures
    # Sized for a loaded 2-CPU machine (the whole suite runs two tests at a
    # time): every round races the flood against the stop once.
    for _ in range(10):
        m = Tether.LoopManager.new('adv-rct')
        m.start(None)
        loop = m.get_asyncio_loop()
        stop = threading.Event()
        futures = []

        async def job(i):
            await asyncio.sleep(0.0005)
            return i

        def sender():
            i = 0
            while (not stop.is_set() or i < 10) and i < 5000:
                coro = job(i)
                try:
                    futures.append(asyncio.run_coroutine_threadsafe(coro, loop))
                except RuntimeError:
                    coro.close()
                    return
                i += 1

        t = threading.Thread(target=sender)
        t.start()
        m.stop(Tether.StopMode.DRAIN)
        stop.set()
        t.join(LONG)
        assert not t.is_alive()
        for f in futures:
            try:
                f.result(LONG)
            except concurrent.futures.CancelledError:
                pass
    print('OK')
    ''', dev=False)


def test_del_manager_with_readers_timers_and_tasks_pending():
    run_scenario('''
    import socket
    socks = []
    for _ in range(20):
        m = Tether.LoopManager.new('adv-del')
        m.start(None)
        a, b = socket.socketpair()
        socks += [a, b]
        finals = []

        async def job(work):
            loop = asyncio.get_running_loop()
            loop.add_reader(a.fileno(), lambda: None)
            loop.call_later(60, lambda: None)

            async def forever():
                try:
                    await asyncio.sleep(60)
                finally:
                    finals.append(1)
            asyncio.ensure_future(forever())
            await asyncio.sleep(0)
            return 1

        f = m.submit(None, None, job)
        del m
        assert f.result(LONG) == 1
        assert Tether.LoopManager.wait_detached(int(LONG * 1e6))
        assert finals == [1]
    for s in socks:
        s.close()
    print('OK')
    ''')


def test_exit_with_coroutines_pending_runs_them():
    """Interpreter exit with coroutine work queued and suspended, on a kept
    manager, a dropped one, and a thread's (posted): every one runs to its
    end before the process exits."""
    proc = run_scenario('''
    import os

    async def posted(i):
        await asyncio.sleep(0.01)
        os.write(1, b'+')

    async def job(work, i):
        await posted(i)

    kept = Tether.LoopManager.new('adv-exit-kept')
    kept.start(None)
    for i in range(100):
        kept.submit(None, None, job, i)
    dropped = Tether.LoopManager.new('adv-exit-dropped')
    dropped.start(None)
    for i in range(100):
        dropped.submit(None, None, job, i)
    del dropped

    def worker():
        m = Tether.LoopManager.get_or_create('adv-exit-thread', Tether.LookupFlags.NONE)
        m.start(None)
        for i in range(100):
            m.post(None, posted, i)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    print('OK', flush=True)
    ''', ok_last=False)
    assert proc.stdout.count('+') == 300, proc.stdout + proc.stderr


def test_glib_main_loop_on_the_main_thread_awaits_tether_futures():
    """A GLib.MainLoop on the main thread, futures awaited through done
    callbacks and wait_async, while managers run coroutines."""
    run_scenario('''
    m = Tether.LoopManager.new('adv-glib')
    m.start(None)

    async def job(work, i):
        await asyncio.sleep(0)
        return i

    main_loop = GLib.MainLoop()
    results = []

    def on_waited(future, result, i):
        assert future.wait_finish(result)
        results.append(future.get_value())
        if len(results) == 200:
            main_loop.quit()

    for i in range(200):
        m.submit(None, None, job, i).wait_async(None, on_waited, i)
    GLib.timeout_add_seconds(int(LONG), lambda: main_loop.quit())
    main_loop.run()
    assert sorted(results) == list(range(200)), len(results)
    m.stop(Tether.StopMode.DRAIN)
    print('OK')
    ''')
