# SPDX-License-Identifier: LGPL-2.1-or-later
"""The last unref of a manager with Python work queued must not take the GIL
hostage: the unref runs with the GIL held, and the manager's thread needs the
GIL to run that work. Each scenario runs in a subprocess with a timeout, so
a hang (which not even signal.alarm could interrupt) fails the test."""

import os
import subprocess
import sys
import textwrap

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import Tether  # noqa: E402

TIMEOUT = 120  # seconds for the whole child; it needs well under one

PRELUDE = textwrap.dedent('''
    import faulthandler
    import sys
    import threading

    import gi
    gi.require_version('Tether', '1.0')
    from gi.repository import Tether

    # A hang holds the GIL: only faulthandler's own thread can still report.
    faulthandler.dump_traceback_later(%d, exit=True)

    ran = []
    lock = threading.Lock()

    def job(k, j):
        with lock:
            ran.append((k, j))

    def gated(event):
        # Holds the manager's thread in Python work until the owner is about
        # to drop the manager: the work queued behind it then needs the GIL
        # while the last unref runs.
        assert event.wait(60)
''' % (TIMEOUT - 10))

THREADS = textwrap.dedent('''
    N, PER = 50, 20

    def worker(k):
        # The seeds' pattern: a thread-scoped manager left to the registry.
        m = Tether.LoopManager.get_or_create('gil-%d' % k, Tether.LookupFlags.FORCE_CREATE)
        m.start(None)
        m.owner = k  # an attribute on the wrapper: PyGObject toggle references
        event = threading.Event()
        m.post(None, gated, event)
        for j in range(PER):
            if j % 2:
                m.post(None, job, k, j)
            else:
                m.submit(None, None, lambda w, k=k, j=j: job(k, j))
        event.set()
        del m  # the registry still holds it: released when this thread exits

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # join() returns once Python is done with the thread, a moment before
    # the OS thread ends and its registrations (the managers' last
    # references) are released: wait for those, then for the drains.
    import time
    deadline = time.monotonic() + 60
    while any(e['id'].startswith('gil-') for e in Tether.registry_snapshot().unpack()):
        assert time.monotonic() < deadline, 'registrations outlive their threads'
        time.sleep(0.001)
    assert Tether.LoopManager.wait_detached(60 * 1000 * 1000), 'drains still running'
    assert len(ran) == N * PER, len(ran)
    assert sorted(ran) == sorted((k, j) for k in range(N) for j in range(PER))
    print('OK')
''')

MAIN_DEL = textwrap.dedent('''
    for round in range(20):
        manager = Tether.LoopManager.new('main-del')
        manager.start(None)
        manager.note = 'toggle'
        event = threading.Event()
        manager.post(None, gated, event)
        for j in range(50):
            manager.post(None, job, round, j)
        event.set()
        del manager  # the last reference, on the main thread, work queued

    assert Tether.LoopManager.wait_detached(60 * 1000 * 1000), 'drains still running'
    assert len(ran) == 20 * 50, len(ran)
    print('OK')
''')


def run_child(body):
    proc = subprocess.run([sys.executable, '-c', PRELUDE + body],
                          env=os.environ.copy(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith('OK'), proc.stdout + proc.stderr


def test_threads_exit_with_python_work_queued():
    run_child(THREADS)


def test_del_on_main_thread_with_python_work_queued():
    run_child(MAIN_DEL)


def test_wait_detached_with_nothing_detached():
    assert Tether.LoopManager.wait_detached(0)


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
