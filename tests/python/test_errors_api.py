# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tether's exception classes, raised by real conditions, and the keyword
forms of the lifecycle and registry calls (get_or_create, get_or_start,
start, stop, stop_within).

Every blocking step is bounded (a result() or Event wait with a timeout, a
join with a timeout that is then checked); conftest's watchdog dumps every thread
and fails the run if a test hangs anyway.
"""

import re
import threading

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

LONG = 30.0  # seconds; generous, for anything expected to finish

# A C function or enum value, as C messages spell them (TETHER_DEBUG, an
# environment variable, is spelled so in Python too).
C_NAME = re.compile(r'\btether_[a-z_]+\*?\(\)|'
                    r'\bTETHER_(?:STOP_MODE|LOOKUP_FLAGS|ERROR|DEBUG_FLAGS|FUTURE_STATUS)_[A-Z_]+')


class Gate:
    """Holds work on a manager's thread until opened."""

    def __init__(self):
        self.entered = threading.Event()
        self.opened = threading.Event()

    def work(self, work=None, *unused):
        self.entered.set()
        assert self.opened.wait(LONG)
        return True


def check(error, cls, code, *python_names):
    """``error`` is ``cls``, a GLib.Error of ``code``, and its message names
    ``python_names`` and no C function."""
    assert type(error) is cls
    assert isinstance(error, Tether.TetherError)
    assert isinstance(error, GLib.Error)
    assert error.matches(Tether.error_quark(), code)
    assert error.code == int(code)
    assert error.domain == GLib.quark_to_string(Tether.error_quark())
    assert not C_NAME.search(error.message), error.message
    for name in python_names:
        assert name in error.message, (name, error.message)
    return error


def run_in_thread(func, *args):
    """``func(*args)`` in another thread; returns what it returned or raised."""
    outcome = {}

    def run():
        try:
            outcome['value'] = func(*args)
        except BaseException as exc:  # noqa: B902 - handed to the test
            outcome['error'] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(LONG)
    assert not thread.is_alive()
    return outcome


# -- Classes ---------------------------------------------------------------

def test_classes_are_glib_errors():
    classes = [Tether.NotRunningError, Tether.AlreadyRunningError,
               Tether.ManagerNotFoundError, Tether.UnknownTaskTypeError,
               Tether.WouldDeadlockError, Tether.BusyError, Tether.TimedOutError,
               Tether.InvalidArgumentError, Tether.AbandonedError, Tether.FailedError,
               Tether.WrongTypeError]
    for cls in classes:
        assert issubclass(cls, Tether.TetherError)
        assert issubclass(cls, GLib.Error)
    assert issubclass(Tether.ManagerNotFoundError, LookupError)
    assert issubclass(Tether.TimedOutError, TimeoutError)
    assert issubclass(Tether.InvalidArgumentError, ValueError)
    assert issubclass(Tether.WrongTypeError, TypeError)
    assert Tether.NotRunningError.__name__ == 'NotRunningError'
    assert 'Tether.NotRunningError' in repr(Tether.NotRunningError)


def test_other_domains_untouched():
    error = GLib.Error('plain', 'some-other-domain', 3)
    assert type(error) is GLib.Error
    assert error.message == 'plain'
    error = GLib.Error.new_literal(GLib.quark_from_string('x-domain'), 'tether_future_wait()', 1)
    assert type(error) is GLib.Error
    assert error.message == 'tether_future_wait()'


def test_new_literal_in_tether_domain():
    error = GLib.Error.new_literal(Tether.error_quark(), 'full', Tether.Error.BUSY)
    check(error, Tether.BusyError, Tether.Error.BUSY)


# -- Each class, raised by a real condition ----------------------------------

def test_not_running(manager):
    manager.stop()
    with pytest.raises(Tether.NotRunningError) as info:
        manager.submit(None, None, lambda work: 1)
    check(info.value, Tether.NotRunningError, Tether.Error.NOT_RUNNING, 'LoopManager.start()')


def test_already_running(manager):
    with pytest.raises(Tether.AlreadyRunningError) as info:
        manager.start()
    check(info.value, Tether.AlreadyRunningError, Tether.Error.ALREADY_RUNNING,
          'LoopManager.stop()')


def test_manager_not_found():
    with pytest.raises(LookupError) as info:
        Tether.LoopManager.get_or_create('py-errors-missing', strict=True)
    check(info.value, Tether.ManagerNotFoundError, Tether.Error.MANAGER_NOT_FOUND,
          'LoopManager.get_or_create()', 'strict=True')
    with pytest.raises(Tether.ManagerNotFoundError):
        Tether.LoopManager.get_or_start('py-errors-missing', strict=True)
    with pytest.raises(Tether.ManagerNotFoundError):
        Tether.LoopManager.get_or_create('py-errors-missing', Tether.LookupFlags.STRICT)


def test_unknown_task_type(manager):
    manager.stop()
    manager.start('io')
    with pytest.raises(Tether.UnknownTaskTypeError) as info:
        manager.submit('cpu', None, lambda work: 1)
    check(info.value, Tether.UnknownTaskTypeError, Tether.Error.UNKNOWN_TASK_TYPE)


def test_would_deadlock_result_on_own_thread(manager):
    def work(work):
        own = manager.submit(None, None, lambda w: 1)
        try:
            own.result(LONG)
        except Tether.WouldDeadlockError as error:
            return error
        return None

    error = manager.submit(None, None, work).result(LONG)
    check(error, Tether.WouldDeadlockError, Tether.Error.WOULD_DEADLOCK,
          'Future.result() or Future.wait() on the thread', 'Future.add_done_callback()')


def test_would_deadlock_stop_within_on_own_thread(manager):
    def work(work):
        try:
            manager.stop_within()
        except Tether.WouldDeadlockError as error:
            return error
        return None

    error = manager.submit(None, None, work).result(LONG)
    check(error, Tether.WouldDeadlockError, Tether.Error.WOULD_DEADLOCK,
          'LoopManager.stop_within()', 'LoopManager.stop()')
    assert manager.is_running()


def test_busy(manager):
    gate = Gate()
    manager.set_max_pending(1)
    held = manager.submit(None, None, gate.work)
    assert gate.entered.wait(LONG)
    queued = manager.submit(None, None, lambda work: 2)
    try:
        with pytest.raises(Tether.BusyError) as info:
            manager.submit(None, None, lambda work: 3)
        check(info.value, Tether.BusyError, Tether.Error.BUSY)
    finally:
        gate.opened.set()
    assert held.result(LONG) is True
    assert queued.result(LONG) == 2


def test_timed_out(manager):
    gate = Gate()
    future = manager.submit(None, None, gate.work)
    try:
        # Not the main thread: the wait is the C call itself.
        outcome = run_in_thread(future.wait, 1000)
    finally:
        gate.opened.set()
    error = outcome['error']
    assert isinstance(error, TimeoutError)
    check(error, Tether.TimedOutError, Tether.Error.TIMED_OUT, 'Future.cancel()')
    assert future.result(LONG) is True


def test_timed_out_main_thread(manager):
    gate = Gate()
    future = manager.submit(None, None, gate.work)
    try:
        with pytest.raises(TimeoutError) as info:
            future.wait(1000)
    finally:
        gate.opened.set()
    check(info.value, Tether.TimedOutError, Tether.Error.TIMED_OUT, 'Future.cancel()')
    assert future.result(LONG) is True


def test_invalid_argument_from_c():
    # This thread already has a place in the lineage.
    Tether.LoopManager.get_or_create('py-errors-place')
    token = Tether.Lineage.capture()
    with pytest.raises(ValueError) as info:
        token.attach()
    check(info.value, Tether.InvalidArgumentError, Tether.Error.INVALID_ARGUMENT,
          'Lineage.attach()', 'Lineage.adopt()')


def submit_async_here(manager, ready):
    """submit_async() from a context of this thread, iterated (at most LONG
    s) until ``ready(source, result)`` has run there."""
    done = threading.Event()
    context = GLib.MainContext.new()

    def on_ready(source, result, *unused):
        try:
            ready(source, result)
        finally:
            done.set()

    context.push_thread_default()
    try:
        manager.submit_async(None, lambda work: 1, (), None, on_ready)
        deadline = GLib.get_monotonic_time() + int(LONG * 1e6)
        while not done.is_set() and GLib.get_monotonic_time() < deadline:
            context.iteration(False) or done.wait(0.001)
    finally:
        context.pop_thread_default()
    assert done.is_set()


def test_invalid_argument_submit_finish_twice(manager):
    errors = []

    def ready(source, result):
        source.submit_finish(result)
        try:
            source.submit_finish(result)
        except GLib.Error as error:
            errors.append(error)

    submit_async_here(manager, ready)
    check(errors[0], Tether.InvalidArgumentError, Tether.Error.INVALID_ARGUMENT,
          'LoopManager.submit_async()', 'LoopManager.submit_finish()')


def test_not_running_in_async_callback(manager):
    """An error PyGObject makes inside a callback, from a method the
    override does not wrap, has its class too."""
    manager.stop()
    errors = []

    def ready(source, result):
        try:
            source.submit_finish(result)
        except GLib.Error as error:
            errors.append(error)

    submit_async_here(manager, ready)
    check(errors[0], Tether.NotRunningError, Tether.Error.NOT_RUNNING, 'LoopManager.start()')


def test_abandoned(manager):
    # The work keeps no reference to its Work: dropping it ends the work.
    future = manager.submit(None, None, lambda work: Tether.DEFERRED)
    with pytest.raises(Tether.AbandonedError) as info:
        future.result(LONG)
    check(info.value, Tether.AbandonedError, Tether.Error.ABANDONED, 'Tether.Work',
          'Work.return_*()')


def test_failed(manager):
    def work(work):
        raise KeyError('boom')

    future = manager.submit(None, None, work)
    with pytest.raises(KeyError):
        future.result(LONG)
    # The C outcome, as the C-order wait() and dup_error() (a GError
    # returned as a value) see it.
    with pytest.raises(Tether.FailedError) as info:
        future.wait(-1)
    check(info.value, Tether.FailedError, Tether.Error.FAILED, 'KeyError')
    check(future.dup_error(), Tether.FailedError, Tether.Error.FAILED, 'KeyError')


# -- Keyword lifecycle/registry API -----------------------------------------

def test_get_or_create_defaults():
    default = Tether.LoopManager.get_or_create()
    assert default.get_id() == 'default'
    a = Tether.LoopManager.get_or_create('py-kw-a')
    assert hash(Tether.LoopManager.get_or_create('py-kw-a')) == hash(a)
    # The C order still works.
    assert hash(Tether.LoopManager.get_or_create('py-kw-a', Tether.LookupFlags.NONE)) == hash(a)
    assert hash(Tether.LoopManager.get_or_create(id='py-kw-a', strict=True)) == hash(a)
    forced = Tether.LoopManager.get_or_create('py-kw-a', force_create=True)
    assert hash(forced) != hash(a)
    assert hash(Tether.LoopManager.get_or_create('py-kw-a')) == hash(forced)
    assert not forced.is_running()


def test_start_stop_defaults():
    m = Tether.LoopManager.get_or_create('py-kw-start', force_create=True)
    assert m.start() is True
    assert m.is_running()
    assert m.dup_task_type() is None
    gate = Gate()
    held = m.submit(None, None, gate.work)
    queued = m.submit(None, None, lambda work: 'ran')
    assert gate.entered.wait(LONG)
    gate.opened.set()
    m.stop()                                     # DRAIN: queued work runs
    assert not m.is_running()
    assert held.result(LONG) is True
    assert queued.result(LONG) == 'ran'
    m.start(task_type='io')
    assert m.dup_task_type() == 'io'
    m.stop(Tether.StopMode.CANCEL)               # C order
    m.start('io')
    m.stop(mode=Tether.StopMode.DRAIN)
    m.start()
    assert m.stop_within() == (True, 0, 0)
    m.start()
    assert m.stop_within(timeout_usec=1_000_000)[0] is True


def test_get_or_start_types():
    m = Tether.LoopManager.get_or_start('py-kw-gos', task_type='io', force_create=True)
    try:
        assert m.is_running() and m.dup_task_type() == 'io'
        assert hash(Tether.LoopManager.get_or_start('py-kw-gos', task_type='io')) == hash(m)
        with pytest.raises(Tether.UnknownTaskTypeError) as info:
            Tether.LoopManager.get_or_start('py-kw-gos', task_type='cpu')
        check(info.value, Tether.UnknownTaskTypeError, Tether.Error.UNKNOWN_TASK_TYPE,
              "'io'", "'cpu'", 'LoopManager.stop()')
        with pytest.raises(Tether.UnknownTaskTypeError):
            Tether.LoopManager.get_or_start('py-kw-gos')
        m.stop()
        assert hash(Tether.LoopManager.get_or_start('py-kw-gos')) == hash(m)
        assert m.is_running() and m.dup_task_type() is None
    finally:
        m.stop()


def race(n, target):
    """Runs ``target(i)`` in ``n`` threads released together; their results."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def run(i):
        try:
            barrier.wait(LONG)
            results[i] = target(i)
        except BaseException as exc:  # noqa: B902 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LONG)
        assert not thread.is_alive()
    assert not errors, errors
    return results


def test_get_or_start_race_create():
    """Eight threads adopted into one place race on a fresh id: one
    manager, running, for all."""
    for round_ in range(20):
        id_ = 'py-kw-race-create-%d' % round_
        token = Tether.Lineage.capture()

        def target(i):
            with token:
                m = Tether.LoopManager.get_or_start(id_, task_type='io')
                return hash(m), m.is_running(), m.dup_task_type()

        results = race(8, target)
        assert len({r[0] for r in results}) == 1
        assert all(r[1:] == (True, 'io') for r in results)
        m = Tether.LoopManager.get_or_create(id_, strict=True)
        assert hash(m) == results[0][0]
        m.stop()


def test_get_or_start_race_start():
    """Eight threads race on a registered, stopped manager: exactly one
    start per round."""
    m = Tether.LoopManager.get_or_create('py-kw-race-start', force_create=True)
    starts = []
    m.connect('notify::task-type', lambda *args: starts.append(1))
    token = Tether.Lineage.capture()

    def target(i):
        with token:
            return hash(Tether.LoopManager.get_or_start('py-kw-race-start', task_type='io'))

    for round_ in range(20):
        results = race(8, target)
        assert set(results) == {hash(m)}
        assert m.is_running()
        assert len(starts) == round_ + 1
        m.stop()


def test_argument_errors(manager):
    with pytest.raises(TypeError, match=r'LoopManager\.get_or_create\(\): id'):
        Tether.LoopManager.get_or_create(42)
    with pytest.raises(TypeError, match='flags'):
        Tether.LoopManager.get_or_create('x', 'strict')
    with pytest.raises(TypeError, match='force_create'):
        Tether.LoopManager.get_or_create('x', force_create=1)
    with pytest.raises(TypeError):
        Tether.LoopManager.get_or_create('x', Tether.LookupFlags.NONE, True)   # keyword-only
    with pytest.raises(ValueError) as info:
        Tether.LoopManager.get_or_create('x', force_create=True, strict=True)
    check(info.value, Tether.InvalidArgumentError, Tether.Error.INVALID_ARGUMENT,
          'LoopManager.get_or_create()', 'force_create', 'strict')
    with pytest.raises(Tether.InvalidArgumentError):
        Tether.LoopManager.get_or_create(
            'x', Tether.LookupFlags.FORCE_CREATE | Tether.LookupFlags.STRICT)
    with pytest.raises(ValueError, match='0x40'):
        Tether.LoopManager.get_or_create('x', 0x40)
    with pytest.raises(TypeError, match=r'LoopManager\.get_or_start\(\): task_type'):
        Tether.LoopManager.get_or_start('x', task_type=3)
    with pytest.raises(TypeError):
        Tether.LoopManager.get_or_start('x', 'io')                        # keyword-only
    with pytest.raises(ValueError, match=r'LoopManager\.get_or_start\(\)'):
        Tether.LoopManager.get_or_start('x', force_create=True, strict=True)
    with pytest.raises(TypeError, match=r'LoopManager\.start\(\): task_type'):
        manager.start(7)
    with pytest.raises(TypeError, match=r'LoopManager\.stop\(\): mode'):
        manager.stop('drain')
    with pytest.raises(ValueError, match=r'LoopManager\.stop\(\): mode'):
        manager.stop(7)
    with pytest.raises(TypeError, match=r'LoopManager\.stop_within\(\)'):
        manager.stop_within('1')
    with pytest.raises(ValueError, match=r'LoopManager\.stop_within\(\)'):
        manager.stop_within(-2)
    with pytest.raises(ValueError, match=r'LoopManager\.set_wait_spin\(\)'):
        manager.set_wait_spin(2_000_000)
    assert manager.is_running()                   # nothing reached C


def test_c_messages_name_no_c_function():
    """The messages of src/*.c (the translatable strings, in ``_()``) name
    calls as the introspected API spells them, the same in Python and GJS,
    never a C function; and whatever C name another string in src/*.c
    holds comes out in its Python spelling."""
    import glob
    import os

    from gi.overrides import _tether_errors

    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src')
    literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    message = re.compile(r'\b_\(((?:\s*"(?:[^"\\\n]|\\.)*")+)\s*\)')
    messages = 0
    for path in glob.glob(os.path.join(src, '*.c')):
        with open(path, encoding='utf-8') as source:
            code = source.read()
        for group in message.findall(code):
            text = ''.join(literal.findall(group))
            messages += 1
            assert not C_NAME.search(text), (path, text)
        for text in literal.findall(code):
            if C_NAME.search(text) and 'TETHER_ERROR' not in text:
                rewritten = _tether_errors.python_message(text)
                assert not C_NAME.search(rewritten), (path, text, rewritten)
    assert messages >= 30, messages


def test_every_class_exported():
    from gi.overrides import _tether_errors
    for name in _tether_errors.__all__:
        assert getattr(Tether, name) is getattr(_tether_errors, name)
