# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adversarial tests of the documented stop, unref and wait semantics from
Python, written as a new user would: stops from done callbacks and from
work, CANCEL stops ending result() in work, full queues between managers,
stops racing submissions and last unrefs on many threads, awaiting from
asyncio while the manager is cancelled. Each scenario runs in a subprocess
with a timeout, and faulthandler dumps every thread's stack before it, so a
hang (even one that holds the GIL) fails the test with a trace."""

import os
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 120  # seconds for a whole child; each needs a few

PRELUDE = textwrap.dedent('''
    import asyncio
    import concurrent.futures
    import faulthandler
    import random
    import sys
    import threading

    import gi
    gi.require_version('Tether', '1.0')
    from gi.repository import GLib, Gio, Tether

    faulthandler.dump_traceback_later(%d, exit=True)

    def started(name):
        m = Tether.LoopManager.new(name)
        m.start(None)
        return m

    def is_cancelled_error(exc):
        return isinstance(exc, GLib.Error) and exc.matches(Gio.io_error_quark(),
                                                           Gio.IOErrorEnum.CANCELLED)

    def is_tether_error(exc, code):
        return isinstance(exc, GLib.Error) and exc.matches(Tether.error_quark(), code)
''' % (TIMEOUT - 10))


def run_child(body):
    proc = subprocess.run([sys.executable, '-c', PRELUDE + textwrap.dedent(body)],
                          env=os.environ.copy(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith('OK'), proc.stdout + proc.stderr


def test_cancel_stop_ends_result_in_work():
    """A CANCEL stop ends the blocking result() of the stopped manager's
    Python work with G_IO_ERROR_CANCELLED, and leaves the other work alone."""
    run_child('''
        a, b = started('a'), started('b')
        gate = threading.Event()
        y = b.submit(None, None, lambda w: gate.wait(60) and 42)
        seen = []
        entered = threading.Event()

        def waits(w):
            entered.set()
            try:
                y.result()
            except BaseException as exc:
                seen.append(exc)
                raise
            return 'not cancelled'

        x = a.submit(None, None, waits)
        assert entered.wait(60)  # before or in its wait: either is ended
        a.stop(Tether.StopMode.CANCEL)
        assert x.done()
        assert len(seen) == 1 and is_cancelled_error(seen[0]), seen
        assert not y.done()
        gate.set()
        assert y.result(60) == 42
        b.stop(Tether.StopMode.DRAIN)
        print('OK')
    ''')


def test_stop_within_deadline_ends_result_in_work():
    run_child('''
        a, b = started('a'), started('b')
        gate = threading.Event()
        y = b.submit(None, None, lambda w: gate.wait(60) and 42)
        entered = threading.Event()

        def waits(w):
            entered.set()
            return y.result()

        x = a.submit(None, None, waits)
        assert entered.wait(60)
        ok, n_ran, n_cancelled = a.stop_within(1000)
        assert ok and n_ran + n_cancelled == 1, (ok, n_ran, n_cancelled)
        exc = x.exception(60)
        assert is_cancelled_error(exc), exc
        gate.set()
        assert y.result(60) == 42
        b.stop(Tether.StopMode.DRAIN)
        print('OK')
    ''')


def test_full_queue_cycle_is_refused():
    """Python work on A submitting to a full B whose work waits for A's
    queued work: the submission fails with WOULD_DEADLOCK instead of hanging
    both threads (and, from Python, the GIL)."""
    run_child('''
        a, b = started('a'), started('b')
        b.set_max_pending(1)
        b.set_submit_timeout(-1)
        go = threading.Event()
        errors = []

        def submits(w):
            assert go.wait(60)
            try:
                b.submit(None, None, lambda w: 1)
            except GLib.Error as exc:
                errors.append(exc)
            return 'submitted'

        w = a.submit(None, None, submits)
        z = a.submit(None, None, lambda w: 'z')
        v_entered = threading.Event()

        def waits_for_z(w):
            v_entered.set()
            return z.result()

        v = b.submit(None, None, waits_for_z)
        assert v_entered.wait(60)
        filler = b.submit(None, None, lambda w: 'filler')
        go.set()
        assert w.result(60) == 'submitted'
        # Whichever wait closes the cycle is refused: W's wait for room, or
        # (if W got there first) V's wait for Z.
        v_error = v.exception(60)
        if errors:
            assert len(errors) == 1 and is_tether_error(errors[0], Tether.Error.WOULD_DEADLOCK), errors
            assert v_error is None and v.result() == 'z', v_error
        else:
            assert is_tether_error(v_error, Tether.Error.WOULD_DEADLOCK), v_error
        assert z.result(60) == 'z'
        assert filler.result(60) == 'filler'
        a.stop(Tether.StopMode.DRAIN)
        b.stop(Tether.StopMode.DRAIN)
        print('OK')
    ''')


def test_stop_from_done_callback():
    """A done callback (on the tether-callbacks thread) stops the manager
    that ran the work and another whose work waits on it."""
    run_child('''
        a, b = started('a'), started('b')
        stopped = threading.Event()
        gate = threading.Event()
        blocker = b.submit(None, None, lambda w: gate.wait(60))
        y = b.submit(None, None, lambda w: 2)
        x_entered = threading.Event()

        def x_work(w):
            x_entered.set()
            return y.result()

        x = a.submit(None, None, x_work)
        assert x_entered.wait(60)
        c = started('c')
        first = c.submit_after(None, 1000, None, lambda w: 1)

        def on_done(f):
            gate.set()
            b.stop(Tether.StopMode.CANCEL)
            a.stop(Tether.StopMode.CANCEL)
            stopped.set()

        first.add_done_callback(on_done)
        assert stopped.wait(60)
        c.stop(Tether.StopMode.DRAIN)
        assert not a.is_running() and not b.is_running()
        assert x.done() and y.done()
        # Later callbacks still run.
        again = threading.Event()
        y.add_done_callback(lambda f: again.set())
        assert again.wait(60)
        print('OK')
    ''')


def test_await_while_manager_cancelled():
    """An asyncio task awaiting queued work sees CancelledError when a CANCEL
    stop drops that work, and the loop is never blocked."""
    run_child('''
        async def main():
            m = started('aio')
            gate = threading.Event()
            m.submit(None, None, lambda w: gate.wait(60))
            queued = [m.submit(None, None, lambda w, i=i: i) for i in range(20)]
            tasks = [asyncio.ensure_future(asyncio.wait_for(_aw(f), 60)) for f in queued]
            await asyncio.sleep(0)
            stopper = threading.Thread(target=m.stop, args=(Tether.StopMode.CANCEL,))
            stopper.start()
            while m.is_running():
                await asyncio.sleep(0.001)
            gate.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            stopper.join(60)
            assert not stopper.is_alive()
            assert all(isinstance(r, asyncio.CancelledError) for r in results), results

        async def _aw(f):
            return await f

        asyncio.run(main())
        print('OK')
    ''')


def test_last_unref_on_threads_while_work_waits():
    """Python threads drop the last reference of managers whose Python work
    waits on another manager's work; wait_detached() sees them through."""
    run_child('''
        other = started('other')
        gate = threading.Event()
        y = other.submit(None, None, lambda w: gate.wait(60) and 7)
        results = []
        lock = threading.Lock()

        def worker(k):
            m = started('w%d' % k)
            m.tag = k  # toggle references, as the seeds do
            def waits(w=None):
                v = y.result()
                with lock:
                    results.append(v)
            m.post(None, waits)
            m.submit(None, None, waits)
            del m

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        gate.set()
        assert Tether.LoopManager.wait_detached(60 * 1000 * 1000)
        assert results == [7] * 40, results
        other.stop(Tether.StopMode.DRAIN)
        print('OK')
    ''')


def test_stops_race_submissions_and_unrefs():
    """Stops of every mode, restarts and last unrefs on many Python threads,
    racing submissions: every submission ends exactly once."""
    run_child('''
        ran = {}
        lock = threading.Lock()

        def job(w, key):
            with lock:
                ran[key] = ran.get(key, 0) + 1
            return key

        def post_job(key):
            with lock:
                ran[key] = ran.get(key, 0) + 1

        for rnd in range(10):
            m = started('race')
            futures, posted = [], []
            flock = threading.Lock()
            go = threading.Event()

            def submitter(t, m=m):
                assert go.wait(60)
                for i in range(100):
                    key = (rnd, t, i)
                    try:
                        if i % 3 == 0:
                            m.post(None, post_job, key)
                            with flock:
                                posted.append(key)
                        elif i % 3 == 1:
                            f = m.submit_after(None, i % 50, None, job, key)
                            with flock:
                                futures.append((key, f))
                        else:
                            f = m.submit(None, None, job, key)
                            with flock:
                                futures.append((key, f))
                    except GLib.Error as exc:
                        assert is_tether_error(exc, Tether.Error.NOT_RUNNING), exc

            def stopper(t, m=m):
                assert go.wait(60)
                rng = random.Random(rnd * 10 + t)
                for _ in range(4):
                    kind = rng.randrange(4)
                    if kind == 0:
                        m.stop(Tether.StopMode.DRAIN)
                    elif kind == 1:
                        m.stop(Tether.StopMode.CANCEL)
                    elif kind == 2:
                        assert m.stop_within(rng.randrange(100))[0]
                    else:
                        try:
                            m.start(None)
                        except GLib.Error as exc:
                            assert is_tether_error(exc, Tether.Error.ALREADY_RUNNING), exc

            threads = [threading.Thread(target=submitter, args=(t,)) for t in range(3)]
            threads += [threading.Thread(target=stopper, args=(t,)) for t in range(3)]
            for t in threads:
                t.start()
            go.set()
            for t in threads:
                t.join(60)
                assert not t.is_alive()
            threads.clear()
            # The last action may have been a start: drain that run, then
            # drop the manager (the threads' functions still hold it).
            m.stop(Tether.StopMode.DRAIN)
            del m
            assert Tether.LoopManager.wait_detached(60 * 1000 * 1000)
            for key, f in futures:
                assert f.done(), key
                if f.cancelled():
                    assert ran.get(key, 0) == 0, key
                else:
                    assert f.result() == key and ran[key] == 1, (key, f, f.get_status(),
                                                                  f.exception(), ran.get(key))
            for key in posted:
                assert ran.get(key, 0) <= 1, key
        print('OK')
    ''')


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
