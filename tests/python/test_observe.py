# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stats and debug mode from Python.

dup_stats() counts what happened to every submission; the debug flags (set
on a manager, or for the whole process with TETHER_DEBUG) make the library
log slow, dropped and unretrieved work, naming Python work after its
function. TETHER_DEBUG is read once per process and the reports go to GLib's
log writer, so the debug scenarios run in a child process: this file, run as
a script with the scenario's name. Nothing here asserts that something is
fast: where time matters, the work sleeps well past a threshold.
"""
import ctypes
import functools
import gc
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

LONG = 10.0  # seconds; only reached when something is broken
DebugFlags = Tether.DebugFlags

STATS_TYPES = {
    'submitted': 't', 'completed': 't', 'failed': 't', 'cancelled': 't', 'rejected': 't',
    'queued': 'u', 'running': 'u', 'wakeups': 't', 'waiting-for-room': 'u', 'queue-high-water': 'u', 'latency-samples': 'u',
    'queue-wait-p50-usec': 'x', 'queue-wait-p90-usec': 'x', 'queue-wait-p99-usec': 'x',
    'run-time-p50-usec': 'x', 'run-time-p90-usec': 'x', 'run-time-p99-usec': 'x',
}

# What a report shows for work it cannot name: an address, or a module and
# an offset (tether_debug_describe_func()).
UNNAMED = re.compile(r'(\S+\+)?0x[0-9a-f]+')


def is_error(error, code):
    return isinstance(error, GLib.Error) and error.matches(Tether.error_quark(), code)


def stats(manager):
    return manager.dup_stats().unpack()


def wait_for_samples(manager, n):
    """A job's latency sample is recorded after its function returned, which
    can be just after its future completed: poll for it."""
    deadline = time.monotonic() + LONG
    while stats(manager)['latency-samples'] < n and time.monotonic() < deadline:
        time.sleep(0.001)
    assert stats(manager)['latency-samples'] == n


def gate():
    """(event, work): the work holds the manager's thread until the event is
    set, and says when it started."""
    release, started = threading.Event(), threading.Event()

    def hold(work):
        started.set()
        assert release.wait(LONG)
        return 'released'
    hold.started = started
    return release, hold


def raise_value_error(work):
    raise ValueError('on purpose')


# --- Stats ------------------------------------------------------------------

def test_stats_keys_and_types():
    manager = Tether.LoopManager.new('observe-keys')
    variant = manager.dup_stats()
    assert variant.get_type_string() == 'a{sv}'
    assert {key: variant.lookup_value(key, None).get_type_string()
            for key in variant.keys()} == STATS_TYPES
    unpacked = variant.unpack()
    assert set(unpacked) == set(STATS_TYPES)
    assert all(type(value) is int for value in unpacked.values())
    assert set(unpacked.values()) == {0}         # a manager that never ran


def test_stats_count_every_outcome():
    manager = Tether.LoopManager.new('observe-counts')
    manager.start('mix')
    try:
        for i in range(3):
            assert manager.submit('mix', None, lambda work, i: i * 2, i).result(LONG) == i * 2
        failing = manager.submit('mix', None, raise_value_error)
        assert isinstance(failing.exception(LONG), ValueError)
        before = stats(manager)
        assert (before['submitted'], before['completed'], before['failed']) == (4, 3, 1)

        # Hold the manager's thread: what is queued behind it shows.
        release, hold = gate()
        blocker = manager.submit('mix', None, hold)
        assert hold.started.wait(LONG)
        ran = []
        manager.post('mix', ran.append, 'first post')
        manager.post('mix', lambda: 1 / 0)       # logged by the override: it ran
        queued = manager.submit('mix', None, lambda work: ran.append('cancelled work'))
        now = stats(manager)
        assert (now['queued'], now['running']) == (3, 1)
        assert now['queue-high-water'] >= 3

        # Refused at submission: counted, never run.
        for task_type in ('other', None):
            with pytest.raises(GLib.Error) as info:
                manager.submit(task_type, None, lambda work: ran.append('rejected'))
            assert is_error(info.value, Tether.Error.UNKNOWN_TASK_TYPE)
        with pytest.raises(GLib.Error) as info:
            manager.post('other', ran.append, 'rejected post')
        assert is_error(info.value, Tether.Error.UNKNOWN_TASK_TYPE)
        assert stats(manager)['rejected'] == 3

        queued.cancel()
        assert stats(manager)['cancelled'] == 1
        release.set()
        assert blocker.result(LONG) == 'released'
        # Work runs in order: once this has run, so have the posts.
        assert manager.submit('mix', None, lambda work: 'barrier').result(LONG) == 'barrier'
        assert ran == ['first post']
    finally:
        manager.stop(Tether.StopMode.DRAIN)

    after = stats(manager)
    # 3 + failing + blocker + 2 posts + the cancelled one + the barrier.
    assert after['submitted'] == 9
    # 3 + blocker + 2 posts (the raising one ran) + the barrier.
    assert after['completed'] == 7
    assert (after['failed'], after['cancelled'], after['rejected']) == (1, 1, 3)
    assert (after['queued'], after['running']) == (0, 0)

    # A stopped manager refuses, and counts it; counters survive a restart.
    with pytest.raises(GLib.Error) as info:
        manager.submit('mix', None, lambda work: None)
    assert is_error(info.value, Tether.Error.NOT_RUNNING)
    assert stats(manager)['rejected'] == 4
    manager.start(None)
    try:
        assert manager.submit(None, None, lambda work: 1).result(LONG) == 1
        assert stats(manager)['completed'] == 8
    finally:
        manager.stop(Tether.StopMode.DRAIN)


def test_stats_deferred_work_is_running_until_it_returns():
    manager = Tether.LoopManager.new('observe-deferred')
    manager.start(None)
    try:
        kept = []

        def later(work):
            kept.append(work)
            return Tether.DEFERRED
        future = manager.submit(None, None, later)
        # The function has returned (the next job ran); the work has not.
        assert manager.submit(None, None, lambda work: 'next').result(LONG) == 'next'
        assert not future.done()
        now = stats(manager)
        assert (now['running'], now['completed']) == (1, 1)
        kept.pop().return_string('finished from the main thread')
        assert future.result(LONG) == 'finished from the main thread'
        now = stats(manager)
        assert (now['running'], now['completed']) == (0, 2)
    finally:
        manager.stop(Tether.StopMode.DRAIN)


def test_stats_latency_samples():
    manager = Tether.LoopManager.new('observe-latency')
    manager.start(None)
    try:
        release, hold = gate()
        blocker = manager.submit(None, None, hold)
        assert hold.started.wait(LONG)

        def nap(work):
            time.sleep(0.002)
            return 'napped'
        futures = [manager.submit(None, None, nap) for _ in range(10)]
        release.set()
        assert blocker.result(LONG) == 'released'
        assert [f.result(LONG) for f in futures] == ['napped'] * 10
        wait_for_samples(manager, 11)
        now = stats(manager)
    finally:
        manager.stop(Tether.StopMode.DRAIN)

    for kind in ('queue-wait', 'run-time'):
        p50, p90, p99 = (now['%s-p%d-usec' % (kind, p)] for p in (50, 90, 99))
        assert 0 <= p50 <= p90 <= p99, kind
    # Ten of the eleven jobs slept 2 ms: the median ran at least that long.
    assert now['run-time-p50-usec'] >= 2000
    # The last job queued behind nine naps (p99 of 11 samples is the largest).
    assert now['queue-wait-p99-usec'] >= 9 * 2000


def test_stats_of_timers_and_async_results():
    manager = Tether.LoopManager.new('observe-kinds')
    manager.start(None)
    loop = GLib.MainLoop()
    finished = []

    def done(source, result):
        try:
            finished.append(source.submit_finish(result))
        finally:
            loop.quit()
    try:
        timer = manager.submit_after(None, 1000, None, lambda work: 'timer')
        cancelled_timer = manager.submit_after(None, 60 * 1_000_000, None, lambda work: 'never')
        cancelled_timer.cancel()
        manager.submit_async(None, lambda work: 'async', None, None, done)
        GLib.timeout_add_seconds(int(LONG), loop.quit)
        loop.run()
        assert [tuple(f) for f in finished] == [(True, 'async')]
        assert timer.result(LONG) == 'timer'
        wait_for_samples(manager, 2)
        now = stats(manager)
    finally:
        manager.stop(Tether.StopMode.DRAIN)
    assert (now['submitted'], now['completed'], now['cancelled']) == (3, 2, 1)


# --- Properties --------------------------------------------------------------

def test_debug_flags_property_round_trip():
    manager = Tether.LoopManager.new('observe-flags')
    notified = []
    manager.connect('notify::debug-flags',
                    lambda obj, pspec: notified.append(obj.props.debug_flags))

    manager.set_debug_flags(DebugFlags.SLOW | DebugFlags.DROPPED)
    assert manager.get_debug_flags() == DebugFlags.SLOW | DebugFlags.DROPPED
    assert manager.props.debug_flags == DebugFlags.SLOW | DebugFlags.DROPPED
    assert isinstance(manager.get_debug_flags(), DebugFlags)
    manager.set_debug_flags(DebugFlags.SLOW | DebugFlags.DROPPED)    # no change, no notify
    manager.props.debug_flags = DebugFlags.UNRETRIEVED
    assert manager.get_debug_flags() == DebugFlags.UNRETRIEVED
    manager.set_debug_flags(DebugFlags.NONE)
    assert manager.get_debug_flags() == 0
    assert notified == [DebugFlags.SLOW | DebugFlags.DROPPED, DebugFlags.UNRETRIEVED,
                        DebugFlags.NONE]

    # Also settable at construction, like any property.
    built = Tether.LoopManager(id='observe-flags-built', debug_flags=DebugFlags.SLOW,
                               slow_threshold=2500)
    assert built.get_debug_flags() == DebugFlags.SLOW
    assert built.get_slow_threshold() == 2500


def test_threshold_and_spin_properties_round_trip():
    manager = Tether.LoopManager.new('observe-knobs')
    for name in ('slow_threshold', 'wait_spin', 'loop_spin'):
        getter = getattr(manager, 'get_' + name)
        setter = getattr(manager, 'set_' + name)
        setter(250)
        assert getter() == 250 and manager.get_property(name.replace('_', '-')) == 250
        setattr(manager.props, name, 1000)
        assert getter() == 1000
    manager.set_slow_threshold(10 * 60 * 1_000_000)       # no upper bound but int64
    assert manager.get_slow_threshold() == 10 * 60 * 1_000_000
    manager.set_wait_spin(1_000_000)                       # spins go up to a second
    assert manager.props.wait_spin == 1_000_000


def test_spinning_changes_nothing_but_speed():
    manager = Tether.LoopManager.new('observe-spin')
    manager.props.wait_spin = 200
    manager.props.loop_spin = 200
    manager.start(None)
    try:
        assert [manager.submit(None, None, lambda work, i: i, i).result(LONG)
                for i in range(200)] == list(range(200))
        posted = []
        for i in range(100):
            manager.post(None, posted.append, i)
        assert manager.submit(None, None, lambda work: len(posted)).result(LONG) == 100
        assert posted == list(range(100))
        # A result later than the spin is still waited for.
        assert manager.submit(None, None, lambda work: time.sleep(0.01) or 'slept').result(LONG) \
            == 'slept'
    finally:
        manager.stop(Tether.StopMode.DRAIN)
    assert stats(manager)['completed'] == 200 + 100 + 2


# --- Debug mode, in a child process -----------------------------------------

def run_child(scenario, debug=None, **extra_env):
    """Runs this file's child_<scenario>() in a new Python process with
    TETHER_DEBUG set to ``debug`` (or unset): (returncode, stdout, stderr)."""
    env = dict(os.environ)
    for name in ('TETHER_DEBUG', 'G_DEBUG', 'JOURNAL_STREAM', 'PYTHONFAULTHANDLER'):
        env.pop(name, None)
    if debug is not None:
        env['TETHER_DEBUG'] = debug
    env.update(extra_env)
    child = subprocess.run([sys.executable, os.path.abspath(__file__), scenario],
                           env=env, capture_output=True, text=True, timeout=60)
    return child.returncode, child.stdout, child.stderr


def child_defaults():
    """Prints a new manager's debug settings."""
    manager = Tether.LoopManager.new('observe-defaults')
    print(json.dumps({'flags': int(manager.get_debug_flags()),
                      'slow-threshold': manager.get_slow_threshold(),
                      'wait-spin': manager.get_wait_spin(),
                      'loop-spin': manager.get_loop_spin()}))


def test_tether_debug_sets_the_defaults_of_every_manager():
    def defaults(debug):
        returncode, out, err = run_child('defaults', debug)
        assert returncode == 0, err
        return json.loads(out), err
    everything = int(DebugFlags.SLOW | DebugFlags.DROPPED | DebugFlags.UNRETRIEVED)
    assert defaults(None)[0] == {'flags': 0, 'slow-threshold': 100_000,
                                 'wait-spin': 0, 'loop-spin': 0}
    assert defaults('slow,unretrieved')[0]['flags'] == int(DebugFlags.SLOW
                                                           | DebugFlags.UNRETRIEVED)
    assert defaults('all,slow-ms=25')[0] == {'flags': everything, 'slow-threshold': 25_000,
                                            'wait-spin': 0, 'loop-spin': 0}
    assert defaults('dropped slow-ms=7')[0]['slow-threshold'] == 7000
    settings, err = defaults('slow-ms=soon')
    assert settings['slow-threshold'] == 100_000
    assert "'slow-ms=soon' is not slow-ms=<milliseconds>" in err
    settings, err = defaults('help')
    assert settings['flags'] == 0
    assert 'slow-ms=N' in err
    assert all(key in err for key in ('slow', 'dropped', 'unretrieved'))


class Crunch:
    """Slow work as a method and as a callable instance."""

    def run(self, work):
        time.sleep(0.05)
        return 'crunched'

    def __call__(self, work):
        time.sleep(0.05)
        return 'called'


def slow_function(work, label):
    time.sleep(0.05)
    return label


def fail_unread(work):
    raise ValueError('nobody read this')


def fail_read_by_result(work):
    raise ValueError('read by result()')


def fail_read_by_exception(work):
    raise ValueError('read by exception()')


def hold_until_cancelled(work, started):
    started.set()
    deadline = time.monotonic() + LONG
    while not work.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.001)
    return 'cancelled'


def barrier(manager, task_type):
    """Returns once the manager's thread has finished everything queued
    before: reports about earlier work have been logged by then."""
    assert manager.submit(task_type, None, lambda work: 'barrier').result(LONG) == 'barrier'


def drop_unread_failure(manager, task_type):
    failing = manager.submit(task_type, None, fail_unread)
    deadline = time.monotonic() + LONG
    while not failing.done():                  # done() does not read the error
        assert time.monotonic() < deadline
        time.sleep(0.001)
    del failing
    gc.collect()
    barrier(manager, task_type)


def stop_with_queued_work(manager, task_type):
    started = threading.Event()
    blocker = manager.submit(task_type, None, hold_until_cancelled, started)
    assert started.wait(LONG)
    queued = manager.submit(task_type, None, slow_function, 'never runs')
    manager.post(task_type, print, 'never printed')
    manager.stop(Tether.StopMode.CANCEL)
    assert blocker.result(LONG) == 'cancelled'
    assert queued.cancelled()


def child_env_reports():
    """TETHER_DEBUG is in the environment; GLib's default writer logs."""
    manager = Tether.LoopManager.new('observe-env')
    manager.start('batch')
    print('flags=%d threshold=%d' % (manager.get_debug_flags(), manager.get_slow_threshold()),
          flush=True)
    assert manager.submit('batch', None, Crunch().run).result(LONG) == 'crunched'
    barrier(manager, 'batch')
    drop_unread_failure(manager, 'batch')
    stop_with_queued_work(manager, 'batch')
    print('carried on after the warnings', flush=True)


def warnings_in(stderr):
    return re.findall(r'Tether-WARNING \*\*: [0-9:.]+: (.*)', stderr)


def test_tether_debug_reports_name_python_work():
    returncode, out, err = run_child('env_reports', 'slow,dropped,unretrieved,slow-ms=10')
    assert returncode == 0, err
    flags = int(DebugFlags.SLOW | DebugFlags.DROPPED | DebugFlags.UNRETRIEVED)
    assert out.splitlines() == ['flags=%d threshold=10000' % flags,
                                'carried on after the warnings']
    reports = warnings_in(err)
    slow = [r for r in reports if r.startswith('Work __main__.Crunch.run ')]
    assert len(slow) == 1, err
    assert re.fullmatch(r"Work __main__\.Crunch\.run on manager 'observe-env' ran for "
                        r"[0-9.]+ ms, over the 10\.000 ms slow-work threshold; .*", slow[0])
    unread = [r for r in reports if 'without anyone reading its error' in r]
    assert unread == ["A future for work __main__.fail_unread on manager 'observe-env' failed "
                      "and was finalized without anyone reading its error: ValueError: nobody "
                      "read this (tether-error-quark, %d). Wait on the future or read "
                      "tether_future_dup_error()" % Tether.Error.FAILED], err
    dropped = [r for r in reports if 'dropped unrun' in r]
    assert len(dropped) == 2, err                   # the queued submission and the post
    for report in dropped:
        work = re.fullmatch(r"Work (\S+) queued on manager 'observe-env' was dropped unrun: "
                            r"the manager was stopped with TETHER_STOP_MODE_CANCEL", report)
        assert work and UNNAMED.fullmatch(work.group(1)), report


def test_warnings_are_fatal_only_when_asked():
    """Outside GTest a warning is not fatal: the child above carried on.
    G_DEBUG=fatal-warnings makes the first report abort, which turns debug
    mode into a test failure."""
    returncode, out, err = run_child('env_reports', 'slow,slow-ms=10',
                                     G_DEBUG='fatal-warnings')
    assert returncode in (-signal.SIGABRT, -signal.SIGTRAP), (returncode, err)
    assert 'carried on' not in out
    assert [r.split(' on manager')[0] for r in warnings_in(err)] == ['Work __main__.Crunch.run']


def log_field(field):
    if field.length < 0:
        return ctypes.string_at(field.value).decode()
    return ctypes.string_at(field.value, field.length).decode()


def child_fields():
    """No TETHER_DEBUG: the flags are set from Python, and a log writer of
    our own prints the structured fields of every report, as JSON."""
    reports = []
    lock = threading.Lock()

    def writer(level, fields, *args):
        record = {field.key: log_field(field) for field in fields}
        with lock:
            reports.append(record)
        return GLib.LogWriterOutput.HANDLED
    GLib.log_set_writer_func(writer, None)

    def phase(name):
        with lock:
            reports.append({'phase': name})

    manager = Tether.LoopManager.new('observe-fields')
    manager.props.slow_threshold = 10_000
    manager.start('batch')
    phase('off')
    assert manager.submit('batch', None, slow_function, 'quiet').result(LONG) == 'quiet'
    barrier(manager, 'batch')

    phase('on')
    manager.props.debug_flags = DebugFlags.SLOW | DebugFlags.UNRETRIEVED | DebugFlags.DROPPED
    crunch = Crunch()

    def nested(work):
        time.sleep(0.05)
        return 'nested'

    def renamed(work):
        work.set_name('a name of its own')
        return nested(work)
    assert manager.submit('batch', None, crunch.run).result(LONG) == 'crunched'
    assert manager.submit('batch', None, crunch).result(LONG) == 'called'
    assert manager.submit('batch', None, nested).result(LONG) == 'nested'
    assert manager.submit('batch', None, functools.partial(slow_function, label='p')) \
        .result(LONG) == 'p'
    assert manager.submit_after('batch', 1000, None, slow_function, 'timer').result(LONG) \
        == 'timer'
    assert manager.submit('batch', None, renamed).result(LONG) == 'nested'
    manager.post('batch', time.sleep, 0.05)
    with_result = manager.submit('batch', None, fail_read_by_result)
    try:
        with_result.result(LONG)
    except ValueError:
        pass
    with_exception = manager.submit('batch', None, fail_read_by_exception)
    assert isinstance(with_exception.exception(LONG), ValueError)
    del with_result, with_exception
    drop_unread_failure(manager, 'batch')

    phase('off again')
    manager.set_debug_flags(DebugFlags.NONE)
    assert manager.submit('batch', None, slow_function, 'quiet').result(LONG) == 'quiet'
    drop_unread_failure(manager, 'batch')

    phase('dropped')
    manager.set_debug_flags(DebugFlags.DROPPED)
    stop_with_queued_work(manager, 'batch')
    print(json.dumps(reports))


def test_debug_flags_set_from_python_name_the_work():
    returncode, out, err = run_child('fields')
    assert returncode == 0, err
    phases = {}
    for record in json.loads(out):
        if 'phase' in record:
            current = phases.setdefault(record['phase'], [])
        else:
            current.append(record)
    assert list(phases) == ['off', 'on', 'off again', 'dropped']
    assert phases['off'] == [] and phases['off again'] == []

    for record in phases['on'] + phases['dropped']:
        assert record['GLIB_DOMAIN'] == 'Tether'
        assert record['PRIORITY'] == '4'                        # a warning
        assert record['TETHER_MANAGER'] == 'observe-fields'
        assert record['TETHER_TASK_TYPE'] == 'batch'
        assert record['TETHER_WORK'] in record['MESSAGE']

    slow = [r['TETHER_WORK'] for r in phases['on'] if 'slow-work threshold' in r['MESSAGE']]
    named = ['__main__.Crunch.run', '__main__.Crunch',
             '__main__.child_fields.<locals>.nested', '__main__.slow_function',
             '__main__.slow_function', 'a name of its own']
    assert slow[:len(named)] == named, slow
    # The post: the C post path has no TetherWork to name.
    assert UNNAMED.fullmatch(slow[len(named)]), slow
    unread = [r['TETHER_WORK'] for r in phases['on'] if 'without anyone reading' in r['MESSAGE']]
    assert unread == ['__main__.fail_unread']

    dropped = [r['TETHER_WORK'] for r in phases['dropped']
               if 'dropped unrun' in r['MESSAGE']]
    assert len(dropped) == 2 and all(UNNAMED.fullmatch(work) for work in dropped), dropped


if __name__ == '__main__':
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))     # the fatal-warnings child aborts
    globals()['child_' + sys.argv[1]]()
