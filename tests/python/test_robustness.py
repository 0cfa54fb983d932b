# SPDX-License-Identifier: LGPL-2.1-or-later
"""The override under odd use: wrapper lifetimes, Ctrl-C, callbacks that
raise anything, interpreter exit, thread states, bad arguments.

Every blocking step is bounded (an Event wait with a timeout, a subprocess
timeout) and conftest's watchdog dumps every thread and fails the run if a test
hangs anyway.
"""

import asyncio
import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import weakref

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

LONG = 30.0  # seconds; generous, for anything expected to finish


def run_python(code, timeout=LONG * 4, env=None):
    """Runs ``code`` in a fresh interpreter with this test's environment."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env=full_env)


PRELUDE = '''
import gc, os, signal, sys, threading, time
import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether
LONG = %r
''' % LONG


# -- Item 2: no toggle references ------------------------------------------

def test_manager_wrapper_is_not_kept_alive_by_the_override():
    """An attribute on a wrapper switches PyGObject to a toggle reference:
    the wrapper then lives as long as the C object, and every reference
    change from C runs Python code under the GIL, up to the last unref."""
    m = Tether.LoopManager.get_or_create('py-no-toggle', Tether.LookupFlags.FORCE_CREATE)
    m.start(None)
    # Every override path that keeps per-manager or per-future state.
    f = m.submit(None, None, lambda w: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        f.result(LONG)
    ran = threading.Event()
    m.post(None, ran.set)
    assert ran.wait(LONG)
    called = threading.Event()
    later = m.submit_after(None, 1000, None, lambda w: 2)
    later.add_done_callback(lambda f: called.set())
    assert later.result(LONG) == 2 and called.wait(LONG)
    m.set_debug_flags(Tether.DebugFlags.SLOW)

    manager_wrapper = weakref.ref(m)
    del m, f, later
    gc.collect()
    # The registry (C) still holds the manager; its wrapper is gone.
    assert manager_wrapper() is None

    m = Tether.LoopManager.get_or_create('py-no-toggle', Tether.LookupFlags.STRICT)
    assert m.is_running()
    assert m.submit(None, None, lambda w: 3).result(LONG) == 3
    m.stop(Tether.StopMode.DRAIN)


def test_manager_is_finalized_when_its_last_wrapper_dies():
    finalized = threading.Event()
    for i in range(20):
        finalized.clear()
        m = Tether.LoopManager.new('py-finalize')
        m.start(None)
        assert m.submit(None, None, lambda w: i).result(LONG) == i
        done = threading.Event()
        m.submit(None, None, lambda w: None).add_done_callback(lambda f: done.set())
        assert done.wait(LONG)
        m.weak_ref(finalized.set)
        del m
        assert finalized.wait(LONG)


# -- Item 3: Ctrl-C while the main thread waits ----------------------------

CTRL_C = PRELUDE + '''
m = Tether.LoopManager.new('ctrl-c')
m.start(None)
main = threading.main_thread().ident

def in_override_wait():
    frame = sys._current_frames().get(main)
    while frame is not None:
        code = frame.f_code
        if code.co_name in ('wait', '_wait') and code.co_filename.endswith(('Tether.py', '_tether_future.py')):
            return True
        frame = frame.f_back
    return False

def interrupt(to_main):
    # Once the main thread is blocked in the override's wait, signal it:
    # process-directed (the kernel picks the main thread), or aimed at
    # this helper thread, whose C handler only flags it for the main one.
    deadline = time.monotonic() + LONG
    while time.monotonic() < deadline and not in_override_wait():
        time.sleep(0.001)
    if to_main:
        os.kill(os.getpid(), signal.SIGINT)
    else:
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

outcomes = {}
for i in range(%(runs)d):
    gate = threading.Event()
    started = threading.Event()
    def work(w, value):
        started.set()
        gate.wait(LONG)
        if value == 'fail':
            raise ValueError(value)
        return value
    f = m.submit(None, None, work, 'fail' if i %% 2 else 'ok')
    assert started.wait(LONG)
    helper = threading.Thread(target=interrupt, args=(i %% 5 != 4,))
    helper.start()
    try:
        if i %% 4 == 0:
            f.result()
        elif i %% 4 == 1:
            f.exception(timeout=LONG)
        elif i %% 4 == 2:
            f.result(timeout=LONG)
        else:
            f.wait(-1)                          # the C method
        outcome = 'returned'
    except KeyboardInterrupt:
        outcome = 'KeyboardInterrupt'
    except BaseException as e:
        outcome = '%%s: %%s' %% (type(e).__name__, e)
    helper.join()
    gate.set()
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The future is still usable after the interrupted wait.
    try:
        assert f.result(LONG) == 'ok'
    except ValueError:
        pass
m.stop(Tether.StopMode.DRAIN)
print(outcomes)
'''


def test_ctrl_c_during_result_raises_keyboard_interrupt():
    runs = 40
    proc = run_python(CTRL_C % {'runs': runs})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str({'KeyboardInterrupt': runs}), proc.stderr
    assert 'Converting the GError failed' not in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_main_thread_timeouts_and_results():
    """The main thread's interruptible wait keeps result()'s contract."""
    m = Tether.LoopManager.new('py-main-wait')
    m.start(None)
    gate = threading.Event()
    f = m.submit(None, None, lambda w: gate.wait(LONG))
    for timeout in (0, 0.001, 0.02):
        with pytest.raises(TimeoutError):
            f.result(timeout)
    for timeout_usec in (0, 1000, 20_000):
        with pytest.raises(GLib.Error) as info:
            f.wait(timeout_usec)
        assert info.value.matches(Tether.error_quark(), Tether.Error.TIMED_OUT)
    gate.set()
    assert f.wait(-1)
    assert f.result(LONG) is True
    for i in range(2000):
        assert m.submit(None, None, lambda w, i=i: i).result(LONG) == i
    with pytest.raises(ValueError):
        m.submit(None, None, lambda w: int('x')).result(LONG)
    with pytest.raises(GLib.Error) as info:
        m.submit(None, None, lambda w: int('x')).wait(-1)
    assert info.value.matches(Tether.error_quark(), Tether.Error.FAILED)
    m.stop(Tether.StopMode.DRAIN)


# -- Item 15: done callbacks that raise anything ---------------------------

@pytest.mark.parametrize('exc', [SystemExit, KeyboardInterrupt, GeneratorExit,
                                 BaseException, ValueError])
def test_done_callback_raising_anything_is_logged_and_ignored(manager, caplog, exc):
    def raises(f):
        raise exc('from a done callback')

    with caplog.at_level(logging.ERROR, logger='gi.overrides.Tether'):
        for round_ in range(3):
            gate = threading.Event()
            f = manager.submit(None, None, lambda w: gate.wait(LONG))
            after = threading.Event()
            f.add_done_callback(raises)
            f.add_done_callback(lambda f: after.set())
            gate.set()
            assert after.wait(LONG)                 # the same future's next one
            other = threading.Event()               # and a later future's
            manager.submit(None, None, lambda w: 1).add_done_callback(lambda f: other.set())
            assert other.wait(LONG)

        async def main():                           # await rides on them too
            return await asyncio.wait_for(manager.submit(None, None, lambda w: 42), LONG)
        assert asyncio.run(main()) == 42

        # Already done: runs in the caller's thread, same rule.
        f.add_done_callback(raises)
    assert sum('from a done callback' in (r.exc_text or '') for r in caplog.records) == 4


# -- Item 18: argument errors at the call ----------------------------------

def work(w):
    return 1


@pytest.mark.parametrize('call, error', [
    (lambda m: m.submit_after(None, -1, None, work), ValueError),
    (lambda m: m.submit_after(None, 'soon', None, work), TypeError),
    (lambda m: m.submit_at(None, 1 << 70, None, work), ValueError),
    (lambda m: m.submit_at(None, float('nan'), None, work), ValueError),
    (lambda m: m.submit_at(None, None, None, work), TypeError),
    (lambda m: m.stop_within(-2), ValueError),
    (lambda m: m.submit(None, None, None), TypeError),
    (lambda m: m.submit(None, None, 42), TypeError),
    (lambda m: m.submit_after(None, 0, None, 'not callable'), TypeError),
    (lambda m: m.post(None, 42), TypeError),
    (lambda m: m.submit_async(None, 42), TypeError),
    (lambda m: m.submit_async(None, work, (), None, 'not callable'), TypeError),
    (lambda m: m.set_submit_timeout(-2), ValueError),
    (lambda m: m.set_slow_threshold(-1), ValueError),
    (lambda m: m.set_wait_spin(-1), ValueError),
    (lambda m: m.set_wait_spin(2_000_000), ValueError),
    (lambda m: m.set_loop_spin(-1), ValueError),
    (lambda m: m.submit(None, None, work).wait(-2), ValueError),
    (lambda m: m.submit(None, None, work).wait_done(-2), ValueError),
    (lambda m: m.submit(None, None, work).add_done_callback(42), TypeError),
])
def test_argument_errors_are_raised_at_the_call(manager, call, error):
    with pytest.raises(error):
        call(manager)
    # Nothing was half-done: the manager still works, nothing is queued.
    assert manager.is_running()
    assert manager.submit(None, None, work).result(LONG) == 1


def test_valid_edge_arguments_still_work(manager):
    assert manager.submit_after(None, 0, None, work).result(LONG) == 1
    assert manager.submit_at(None, -5, None, work).result(LONG) == 1     # past: at once
    assert manager.submit_at(None, GLib.get_monotonic_time() + 1000.5, None, work).result(LONG) == 1
    manager.set_submit_timeout(-1)
    manager.set_wait_spin(0)
    assert manager.submit(None, None, work).wait(-1)
    ok, ran, cancelled = manager.stop_within(-1)
    assert ok and (ran, cancelled) == (0, 0)


# -- Item 16: interpreter exit ---------------------------------------------

EXIT_JOBS = PRELUDE + '''
jobs = 5001
counter = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)

def job(w, i):
    os.write(counter, b'.')

def post_job(i):
    os.write(counter, b'.')

def submit_all(m):
    for i in range(jobs):
        if i %% 2:
            m.submit(None, None, job, i)
        else:
            m.post(None, post_job, i)

how = %(how)r
if how == 'kept':                    # a global still refers to the manager
    m = Tether.LoopManager.new('exit-kept')
    m.start(None)
    submit_all(m)
elif how == 'dropped':               # the last reference dropped while it runs
    m = Tether.LoopManager.new('exit-dropped')
    m.start(None)
    submit_all(m)
    del m
elif how == 'thread':                # a thread's manager, left to the registry
    def worker():
        m = Tether.LoopManager.get_or_create('exit-thread', Tether.LookupFlags.NONE)
        m.start(None)
        submit_all(m)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
print('accepted', flush=True)
'''


@pytest.mark.parametrize('how', ['kept', 'dropped', 'thread'])
def test_exit_runs_all_accepted_work(tmp_path, how):
    counter = tmp_path / 'ran'
    counter.write_bytes(b'')
    code = EXIT_JOBS % {'how': how}
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code), str(counter)],
                          capture_output=True, text=True, timeout=LONG * 4)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == 'accepted\n'
    assert len(counter.read_bytes()) == 5001, proc.stderr
    assert 'Tether:' not in proc.stderr


EXIT_DEADLINE = PRELUDE + '''
counter = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
m = Tether.LoopManager.new('exit-deadline')
m.start(None)
started = threading.Event()

def hold(w):
    # Returns when the deadline cancels it (or after LONG, failing the test).
    cancelled = threading.Event()
    w.get_cancellable().connect(lambda *args: cancelled.set())   # g_cancellable_connect()
    started.set()
    cancelled.wait(LONG)
    return 'held'

def job(w):
    os.write(counter, b'.')

m.submit(None, None, hold)
assert started.wait(LONG)
for i in range(100):
    m.submit(None, None, job)
m.submit_after(None, 3600 * 1000000, None, job)     # a timer an hour away
print('accepted', flush=True)
'''


def test_exit_deadline_cancels_loudly(tmp_path):
    counter = tmp_path / 'ran'
    counter.write_bytes(b'')
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(EXIT_DEADLINE), str(counter)],
                          capture_output=True, text=True, timeout=LONG * 2,
                          env=dict(os.environ, TETHER_PY_EXIT_TIMEOUT='0.2'))
    assert proc.returncode == 0, proc.stderr
    assert len(counter.read_bytes()) == 0
    assert ("manager 'exit-deadline' ended 101 accepted job(s) cancelled "
            "(timers not yet due, or work unfinished when TETHER_PY_EXIT_TIMEOUT=0.2 s passed); "
            "1 ran") in proc.stderr, proc.stderr


def test_exit_timer_not_due_is_reported(tmp_path):
    proc = run_python(PRELUDE + '''
m = Tether.LoopManager.new('exit-timer')
m.start(None)
m.submit_after(None, 3600 * 1000000, None, lambda w: None)
''')
    assert proc.returncode == 0, proc.stderr
    assert ("manager 'exit-timer' ended 1 accepted job(s) cancelled (timers not yet due); "
            "0 ran") in proc.stderr, proc.stderr


# -- Item 17: one thread state per manager thread, freed when it exits -----

THREAD_STATES = PRELUDE + '''
import ctypes
api = ctypes.pythonapi
api.PyInterpreterState_Get.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.argtypes = (ctypes.c_void_p,)
api.PyThreadState_Next.restype = ctypes.c_void_p
api.PyThreadState_Next.argtypes = (ctypes.c_void_p,)

def thread_states():
    state = api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    n = 0
    while state:
        n += 1
        state = api.PyThreadState_Next(state)
    return n

def rss():
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except OSError:
        return 0

m = Tether.LoopManager.new('thread-states')
ran = threading.Event()

def cycle():
    m.start(None)
    assert m.submit(None, None, lambda w: 1).result(LONG) == 1
    ran.clear()
    m.post(None, ran.set)
    assert ran.wait(LONG)
    m.stop(Tether.StopMode.DRAIN)

for i in range(20):                       # warm up caches and allocators
    cycle()
gc.collect()
states, memory = thread_states(), rss()
for i in range(%(cycles)d):
    cycle()
gc.collect()
print(thread_states() - states, (rss() - memory) // %(cycles)d)
'''


def test_manager_threads_leave_no_thread_state():
    cycles = 200
    proc = run_python(THREAD_STATES % {'cycles': cycles})
    assert proc.returncode == 0, proc.stderr
    states, bytes_per_cycle = map(int, proc.stdout.split())
    print('%d start/stop cycles with Python work: %+d thread states, %d B of RSS per cycle'
          % (cycles, states, bytes_per_cycle))
    assert states <= 2                    # was one per cycle, 5.4 KB each
    assert bytes_per_cycle < 2500
