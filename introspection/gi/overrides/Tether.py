# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyGObject overrides for Tether.

They keep every C signature and add what Python code expects of a
concurrency library:

- Work functions are called as ``func(work, *func_data)`` on the manager's
  thread, as in C. Their return value becomes the outcome (unless they
  already called ``work.return_*()`` or returned :data:`DEFERRED` to finish
  later); an exception raised inside becomes the future's error instead of a
  printed traceback.
- :class:`Tether.Future` also behaves like :class:`concurrent.futures.Future`
  (``result``, ``exception``, ``done``, ``cancelled``, ``add_done_callback``)
  and can be awaited from any asyncio loop. In the main thread, Ctrl-C
  interrupts a blocking ``result()`` or ``exception()`` with
  :class:`KeyboardInterrupt`. Done callbacks run on one callback thread,
  ``tether-callbacks``; anything they raise is logged and ignored.
- At interpreter exit, managers that were given Python work are drained
  (``stop_within()``), and so are those dropped while running
  (``LoopManager.wait_detached()``), as :mod:`concurrent.futures` joins its
  workers; ``TETHER_PY_EXIT_TIMEOUT`` (seconds) bounds that, and whatever
  ends cancelled is reported on stderr. See :func:`_drain_at_exit`.
- Argument errors raise at the call (:class:`TypeError`,
  :class:`ValueError`), not as a ``Tether-CRITICAL`` and a failure later.
- Every ``GLib.Error`` of Tether's domain is a :class:`TetherError`
  subclass (``Tether.NotRunningError``, ...) whose message names Python
  calls; lifecycle and registry calls take keywords and defaults
  (``_tether_errors``, ``_tether_manager``).
- Nothing is stored on a manager's Python wrapper, which would turn it into
  a toggle reference: see :class:`_ManagerState`. Each manager thread that
  ran Python work keeps one Python thread state, freed as the thread exits.
- Lineage tokens are context managers (``with token:`` adopts it), and
  :class:`Thread` is a :class:`threading.Thread` that is a child of the thread
  that starts it, as ``tether_thread_new()`` makes threads in C.
- Debug reports (``TETHER_DEBUG``, the manager's ``debug-flags``) name Python
  work after its function: ``module.qualname``, as in
  ``app.Loader.fetch.<locals>.parse``. The override calls ``work.set_name()``
  as the work starts (the function may call it again to choose another
  name), and only if the manager's flags include ``SLOW`` or ``UNRETRIEVED``
  then, so with debug mode off naming costs one attribute read per job.
  Work dropped before it started has no name: its ``dropped`` report shows
  the address of PyGObject's trampoline. So do the ``slow`` and ``dropped``
  reports of ``post()`` work, which the C post path runs without a
  :class:`Tether.Work` to name; submit it instead (dropping the future is
  fine) to see the function's name in ``slow`` reports.

Stats need nothing extra: ``manager.dup_stats().unpack()`` is a dict of
Python ints.
"""

import atexit
import concurrent.futures
import contextvars
import ctypes
import functools
import logging
import math
import os
import sys
import threading
import warnings

from gi.module import get_introspection_module
from gi.overrides import override
from gi.repository import GLib, GObject, Gio

from . import _tether_asyncio as _aio
from . import _tether_errors as _errors
from . import _tether_manager as _manager
from . import _tether_lane as _lane
from . import _tether_future as _future

Tether = get_introspection_module('Tether')

__all__ = ['DEFERRED', 'Future', 'PythonFuture', 'Thread']
Future = _future.Future
PythonFuture = _lane.PythonFuture
# Tether.TetherError and its subclasses: every Tether GLib.Error is one.
from ._tether_errors import (  # noqa: E402
    TetherError, NotRunningError, AlreadyRunningError, ManagerNotFoundError,
    UnknownTaskTypeError, WouldDeadlockError, BusyError, TimedOutError,
    InvalidArgumentError, AbandonedError, FailedError, WrongTypeError)
__all__ += ['TetherError', 'NotRunningError', 'AlreadyRunningError', 'ManagerNotFoundError',
            'UnknownTaskTypeError', 'WouldDeadlockError', 'BusyError', 'TimedOutError',
            'InvalidArgumentError', 'AbandonedError', 'FailedError', 'WrongTypeError']
_errors.install()

_log = logging.getLogger('gi.overrides.Tether')

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


class _Deferred:
    __slots__ = ()

    def __repr__(self):
        return 'Tether.DEFERRED'


DEFERRED = _Deferred()
"""Returned by a work function that will call ``work.return_*()`` later,
from a callback on the manager's loop, say. It keeps the work pending; a work
function that returns anything else, ``None`` included, ends the work with
that value."""


class _Outcome:
    """What a Python work function raised, kept for the future's waiters."""

    __slots__ = ('exception',)

    def __init__(self):
        self.exception = None


def _exception_name(exc):
    cls = type(exc)
    if cls.__module__ in ('builtins', '__main__'):
        return cls.__qualname__
    return '%s.%s' % (cls.__module__, cls.__qualname__)


def _error_for(exc):
    message = _exception_name(exc)
    if str(exc):
        message += ': %s' % exc
    if isinstance(exc, _aio.CANCELLED_ERRORS):
        # G_IO_ERROR_CANCELLED is what makes a TetherFuture CANCELLED.
        return GLib.Error.new_literal(Gio.io_error_quark(), 'Work raised ' + message,
                                      _errors.IO_CANCELLED)
    return GLib.Error.new_literal(Tether.error_quark(), message, Tether.Error.FAILED)


def _return(work, value):
    if isinstance(value, GObject.Value):
        work.return_value(value)
    elif isinstance(value, bool):
        work.return_boolean(value)
    elif isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        work.return_int64(value)
    elif isinstance(value, float):
        work.return_double(value)
    elif isinstance(value, str):
        work.return_string(value)
    elif isinstance(value, GLib.Variant):
        work.return_variant(value)
    elif isinstance(value, GObject.Object):
        work.return_object(value)
    elif value is None:
        work.return_value(None)
    else:
        work.return_value(GObject.Value(GObject.TYPE_PYOBJECT, value))


_pinned = threading.local()


def _pin_thread_state():
    """Keeps this manager thread's Python thread state between callbacks,
    until the thread exits.

    PyGObject enters Python from a thread Python did not create with
    PyGILState_Ensure(), which builds a thread state and tears it down again
    after every call (allocating and freeing its frame stack): about 45 us
    per work item, against about 4 us with a kept state (post throughput
    from the main thread, same run). One extra Ensure keeps the state; the
    manager's thread releases it just before it exits, through
    LoopManager.add_exit_func(), so that no thread state outlives
    its thread (issue 12, item 17).

    Why ctypes: no Python-level call keeps a thread state for a thread
    Python did not start (threading, _thread and PyGObject have none), and
    ctypes.pythonapi is the standard library's documented route to the C
    API. The alternatives weighed: a compiled extension module calls the
    same function, for one Python ABI per build; running the manager's
    loop inside a Python frame would make every manager thread hold a
    Python frame for its life and a DRAIN stop wait on it. Without the pin
    (measured on the same machine and run): keyword post and submit, which
    run whole batches per callback, cost 1.6-1.8 and 10.5-12.4 us per job
    instead of 1.3-1.6 and 9.9-11.8; C-order post(None, fn) and
    submit(None, None, fn) cost 53-69 and 81-92 us instead of 2.3-12 and
    26-29.
    """
    if getattr(_pinned, 'pinned', False):
        return
    _pinned.pinned = True
    _name_thread()
    try:
        ensure = ctypes.pythonapi.PyGILState_Ensure
    except AttributeError:                  # a Python without the C API symbol
        return
    ensure.restype = ctypes.c_int
    state = ensure()
    try:
        # Newest first: it runs after the exit functions added later (the
        # asyncio loop's), which may still run Python code here.
        Tether.LoopManager.add_current_exit_func(_unpin_thread_state, state)
    except GLib.Error:                      # the thread is already exiting
        _unpin_thread_state(state)


def _name_thread():
    """Shows this manager thread in :mod:`threading` as ``tether:<id>``.

    ``threading.current_thread()`` on a thread Python did not start makes
    its ``_DummyThread`` (the documented behaviour); it is renamed here and
    forgotten by :func:`_forget_thread` as the thread exits.
    """
    manager_id = Tether.LoopManager.dup_current_id()
    if manager_id is not None:
        threading.current_thread().name = 'tether:%s' % manager_id


def _forget_thread():
    """Drops this thread's ``_DummyThread`` as it exits.

    Python 3.11 never removes a dummy thread: the entry would outlive the
    thread, show in ``threading.enumerate()``, and be handed, with its name,
    to an unrelated thread that later gets the same ident. There is no
    public call for this, so it removes the entry from ``threading._active``
    under its lock, as ``threading`` does for the threads it starts; with a
    Python whose ``threading`` lacks them, the entry stays.
    """
    active = getattr(threading, '_active', None)
    lock = getattr(threading, '_active_limbo_lock', None)
    if active is None or lock is None:
        return
    ident = threading.get_ident()
    with lock:
        thread = active.get(ident)
        if isinstance(thread, threading._DummyThread):
            del active[ident]


def _unpin_thread_state(state):
    _forget_thread()
    # Called by PyGObject, which holds an Ensure of its own for the call:
    # this Release only balances the pin (the GIL stays held), and
    # PyGObject's own Release, on return, frees the thread state.
    release = ctypes.pythonapi.PyGILState_Release
    release.argtypes = (ctypes.c_int,)
    release(state)


def _work_name(func):
    """``module.qualname`` of a work function, for debug reports."""
    while isinstance(func, functools.partial):
        func = func.func
    qualname = getattr(func, '__qualname__', None)
    if not isinstance(qualname, str):          # a callable instance
        qualname = type(func).__qualname__
    module = getattr(func, '__module__', None)
    if isinstance(module, str) and module != 'builtins':
        return '%s.%s' % (module, qualname)
    return qualname


# The debug reports that can name work: both are made after it started.
_NAMED_REPORTS = int(Tether.DebugFlags.SLOW | Tether.DebugFlags.UNRETRIEVED)


class _ManagerState:
    """What the override keeps for a manager that was given Python work.

    It is not stored on the manager's Python wrapper: an attribute there
    makes PyGObject switch the wrapper to a toggle reference, which keeps
    the wrapper alive for as long as the C object is and runs Python code,
    needing the GIL, on every reference count change between 1 and 2 from
    C, on whatever thread makes it, up to the last unref (issue 12, item 2).
    """

    __slots__ = ('flags', 'weak')

    def __init__(self):
        # The manager's debug flags as far as naming goes, readable for the
        # cost of an attribute; a notify::debug-flags handler keeps it current.
        self.flags = 0
        # A GObject weak reference: gives the manager back while it lives
        # (for the drain at exit) and forgets this state when it is disposed.
        self.weak = None


def _debug_flags_changed(manager, pspec, state):
    state.flags = int(manager.get_debug_flags()) & _NAMED_REPORTS


# hash() of a GObject wrapper is the address of its C object, the same for
# every wrapper PyGObject makes for it; an entry goes when the object is
# disposed, before that address can be reused.
_managers = {}
_managers_lock = threading.Lock()


def _forget_manager(key, managers=_managers):
    # Runs where the manager is disposed, on any thread, with the GIL: no
    # lock here, a thread holding _managers_lock may be waiting for the GIL.
    # The map is bound early: a manager may be disposed at interpreter
    # exit, after this module's globals are gone.
    managers.pop(key, None)


def _manager_state(manager):
    state = _managers.get(hash(manager))
    if state is None:
        state = _new_manager_state(manager)
    return state


def _new_manager_state(manager):
    key = hash(manager)
    with _managers_lock:
        state = _managers.get(key)
        if state is None:
            state = _ManagerState()
            # Connected before the first read, so no change is missed. The
            # handler is the manager's, and goes with it.
            manager.connect('notify::debug-flags', _debug_flags_changed, state)
            _debug_flags_changed(manager, None, state)
            state.weak = manager.weak_ref(_forget_manager, key)
            _managers[key] = state
    return state


# Work wrappers never hold the manager: a manager kept alive by its own
# queued work would outlive its owner's last reference, and then end on its
# own thread, unseen by LoopManager.wait_detached(). What needs the manager
# on its thread goes through the thread (add_current_exit_func(), the
# thread-default context), which also works while a dropped manager drains.
def _wrap_work(manager, func, outcome):
    return _wrap_work_with(_manager_state(manager), func, outcome)


def _wrap_work_with(debug, func, outcome):
    # The submitter's context, as asyncio.to_thread() passes it: the work,
    # and the Task of an async def function, run in a copy of it.
    context = contextvars.copy_context()

    def run(work, *func_data):
        context.run(body, work, *func_data)

    def body(work, *func_data):
        _pin_thread_state()
        if debug.flags:
            work.set_name(_work_name(func))
        try:
            loop = _aio.enter()
            value = func(work, *func_data)
            if type(value) is _aio.CoroutineType:
                # An async def work function: it runs as a Task on the
                # manager's asyncio loop, and the work ends when it does.
                _aio.run_task(loop, work, value, outcome, _FINISH)
                return
        except BaseException as exc:
            # Recorded before the error completes the work, so a woken
            # waiter always finds it. BaseException: as concurrent.futures,
            # a KeyboardInterrupt or SystemExit raised by work is its outcome
            # and is raised again in whoever takes the result.
            outcome.exception = exc
            if work.is_done():
                _log.error('Work on manager %r raised after it had returned',
                           work.get_manager_id(), exc_info=exc)
            else:
                work.return_error(_error_for(exc))
            return
        if value is DEFERRED:
            return
        if work.is_done():
            if value is not None:
                warnings.warn('Work on manager %r returned %r after calling '
                              'work.return_*(); the first outcome stands'
                              % (work.get_manager_id(), value), RuntimeWarning)
            return
        _return(work, value)
    return run


def _wrap_post(func):
    def run(*func_data):
        _pin_thread_state()
        try:
            loop = _aio.enter()
            value = func(*func_data)
            if type(value) is _aio.CoroutineType:
                _aio.run_post_task(loop, value)
        except BaseException:
            # Fire-and-forget has nobody to tell: log it, never lose it.
            _log.exception('Fire-and-forget work %r raised', func)
    return run


_FINISH = (_return, _error_for)


def _work_func(call, func, func_data):
    """A coroutine object is work too: it runs as a Task, without the
    Work handle (it has no arguments to receive it)."""
    if _aio.is_lone_coroutine(call, func, func_data):
        return _aio.CoroutineWork(func)
    return func


def _attach_outcome(future, outcome):
    # An attribute keeps this Python wrapper (and so the outcome) alive for
    # as long as the C future lives. Unlike a manager's (see _ManagerState),
    # a future's toggle reference is harmless: releasing it only finalizes
    # the future. And it must be the wrapper that holds the outcome: the
    # exception's traceback reaches the frames that called result(), which
    # hold the future, a cycle the garbage collector can only free if no
    # global map holds the exception.
    future._tether_outcome = outcome
    return future


# One home for argument checks: the manager module's.
_check_usec = _manager.check_usec
_check_callable = _future.check_callable


_submit = Tether.LoopManager.submit
_submit_after = Tether.LoopManager.submit_after
_submit_at = Tether.LoopManager.submit_at
_submit_full = Tether.LoopManager.submit_full
_submit_async = Tether.LoopManager.submit_async
_submit_finish = Tether.LoopManager.submit_finish
_post = Tether.LoopManager.post
_post_full = Tether.LoopManager.post_full


def _refused(func):
    """A refused submission: a coroutine object is closed unrun now, not
    whenever the exception's traceback lets go of it."""
    if isinstance(func, _aio.CoroutineWork):
        func.discard()


def _is_c_order(args, kwargs, name):
    """A C-order call has a str or None where the keyword form has its
    callable (or number), or names the C parameter."""
    if args:
        return args[0] is None or isinstance(args[0], str)
    return name in kwargs or not kwargs


def _check_keyword_options(call, task_type, cancellable):
    if task_type is not None and not isinstance(task_type, str):
        raise TypeError('%s: task_type must be a str or None, not %r' % (call, task_type))
    if cancellable is not None and not isinstance(cancellable, Gio.Cancellable):
        raise TypeError('%s: cancellable must be a Gio.Cancellable or None, not %r'
                        % (call, cancellable))


def _check_priority(call, priority):
    if type(priority) is not int or not _INT32_MIN <= priority <= _INT32_MAX:
        raise TypeError('%s: priority must be an int such as GLib.PRIORITY_HIGH, not %r'
                        % (call, priority))


def _keyword_func(call, fn, fn_args, kwargs):
    """``fn(*fn_args, **kwargs)`` as a C-order work function (the Work
    handle dropped), or the coroutine object itself."""
    if _aio.is_lone_coroutine(call, fn, fn_args or kwargs):
        return fn
    _check_callable(call, 'fn', fn)
    return functools.partial(_call_with_keywords, fn, fn_args, kwargs)


def submit(self, *args, **kwargs):
    """``submit(fn, /, *args, task_type=None, cancellable=None,
    priority=GLib.PRIORITY_DEFAULT, **kwargs)`` -> a future: calls
    ``fn(*args, **kwargs)`` on the manager's thread, in the submitter's
    :mod:`contextvars` context (copied now); ``fn`` may be an ``async def``
    function or a coroutine object, run as a Task on the manager's asyncio
    loop. Jobs run in submission order, never inline.

    At the default priority the job goes through the fast lane (see
    :mod:`._tether_lane`) and the future is a :class:`Tether.PythonFuture`.
    Any other ``priority`` (GLib's: lower values first) goes through C's
    :meth:`submit_full`, ordered with all of the manager's queued C work,
    and the future is a :class:`Tether.Future`; both are
    :class:`concurrent.futures.Future` and awaitable. The lane's jobs run in
    batches of their own, so priorities order a job against C work and
    other prioritized jobs, not against lane jobs already queued.

    ``submit(task_type, cancellable, func, *func_data)`` (first argument a
    str or None) is the C API as is: ``func(work, *func_data)``, a GI
    :class:`Tether.Future`, one GI call per job (and PyGObject 3.42's
    closure leak per call)."""
    if _is_c_order(args, kwargs, 'func'):
        return _c_submit(self, *args, **kwargs)
    task_type = kwargs.pop('task_type', None)
    cancellable = kwargs.pop('cancellable', None)
    priority = kwargs.pop('priority', GLib.PRIORITY_DEFAULT)
    _check_keyword_options('submit()', task_type, cancellable)
    _check_priority('submit()', priority)
    if priority != GLib.PRIORITY_DEFAULT:
        return _c_submit_full(self, task_type, priority, cancellable,
                              _keyword_func('submit()', args[0], args[1:], kwargs))
    return _lane.submit(self, args[0], args[1:], kwargs, task_type, cancellable)


_call = Tether.LoopManager.call
_call_with_closure = Tether.LoopManager.call_with_closure


def call(self, *args, **kwargs):
    """``call(fn, /, *args, task_type=None, cancellable=None, **kwargs)`` ->
    what ``fn(*args, **kwargs)`` returned, having run it on the manager's
    thread; raises what it raised. One blocking round trip, in one GI call:
    the GIL is released for all of it, so the manager's thread takes it
    without waiting, and no future is made. ``fn`` runs in the caller's
    :mod:`contextvars` context (copied) with the manager's asyncio loop
    running; an ``async def`` function (or a coroutine object) runs as a
    Task on that loop and ``call()`` returns when it has ended. Jobs queued
    before this one run first.

    There is no timeout: ``fn`` and its arguments are the caller's until it
    returns. ``cancellable`` withdraws the job while it is queued
    (``concurrent.futures.CancelledError``) and only fires the work's
    cancellable once it runs. For a job that may be given up on,
    ``submit()`` it and wait with a timeout instead. Ctrl-C in the main
    thread is seen once the call returns. With the manager's ``wait_spin``
    and ``loop_spin`` set, both threads spin instead of sleeping: the
    fastest round trip from Python (see tests/bench/tether-bench.py).

    On the manager's own thread it raises :class:`Tether.WouldDeadlockError`
    at once, as does a call that would close a cycle of managers waiting on
    each other (nothing runs then).

    ``call(task_type, func, func_data, cancellable)`` (first argument a str
    or None) is the C API as is: ``func(work, func_data)`` ends through
    ``work.return_*()``, the result is ``(ok, value)``, and each call leaks
    PyGObject 3.42's callback closure; the keyword form does not."""
    # The round trip is a few microseconds: the checks stay inline.
    if not args or args[0] is None or type(args[0]) is str:
        if not args and 'func' not in kwargs:
            raise TypeError('call() takes the function to call')
        return _call(self, *args, **kwargs)
    fn = args[0]
    fn_args = args[1:]
    if kwargs:
        task_type = kwargs.pop('task_type', None)
        cancellable = kwargs.pop('cancellable', None)
        _check_keyword_options('call()', task_type, cancellable)
    else:
        task_type = cancellable = None
    if type(fn) is _aio.CoroutineType:
        if _aio.is_lone_coroutine('call()', fn, fn_args or kwargs):
            fn = _aio.CoroutineWork(fn)
    elif not callable(fn):
        raise TypeError('call(): fn must be callable, not %r' % (fn,))
    box = _CallBox()
    debug = _managers.get(hash(self)) or _manager_state(self)
    run = functools.partial(contextvars.copy_context().run, _call_body, box, debug, fn, fn_args,
                            kwargs)
    # run(work) returns True once fn has returned a value (the work is
    # done), None otherwise (it raised, or a Task ends the work later).

    try:
        # A GClosure, not a GI callback: PyGObject 3.42 leaks a libffi
        # closure (~110 bytes) per callback it passes, none per GClosure.
        _call_with_closure(self, task_type, run, cancellable)
    except GLib.Error as error:
        _refused(fn)
        if box.exception is not None:
            raise box.exception from None
        if error.matches(Gio.io_error_quark(), _errors.IO_CANCELLED):
            raise concurrent.futures.CancelledError(error.message) from None
        raise _errors.translate(error) from None
    if box.exception is not None:
        raise box.exception
    return box.value


class _CallBox:
    """The outcome of a keyword ``call()``, set on the manager's thread:
    it stays in Python, so nothing is boxed into a GValue."""

    __slots__ = ('value', 'exception')

    def __init__(self):
        self.value = None
        self.exception = None

    def set_result(self, work, value):
        self.value = value
        work.return_value(None)

    def fail(self, exc):
        self.exception = exc
        return _error_for(exc)


def _call_body(box, debug, fn, args, kwargs, work):
    if not getattr(_pinned, 'pinned', False):
        _pin_thread_state()
    if debug.flags:
        work.set_name(_work_name(fn))
    try:
        loop = _aio.enter()
        value = fn(*args, **kwargs)
        if type(value) is _aio.CoroutineType:
            _aio.run_task(loop, work, value, box, (box.set_result, box.fail))
            return
    except BaseException as exc:
        # As for submit(): a KeyboardInterrupt or SystemExit raised by the
        # work is its outcome, raised again in the caller. The C job ends
        # failed (or cancelled) so that the manager's stats count it.
        work.return_error(box.fail(exc))
        return
    # The value stays here; True tells C the work is done (it ends with no
    # value there), explicitly: a traceback kept alive by the work (a
    # caught exception's) holds this frame and so the Work, which would
    # keep an unreturned call waiting.
    box.value = value
    return True


def _spread(run):
    """GI passes a work function's data as one argument when, as in
    ``submit()``, the cancellable follows it in C: the tuple is spread here."""
    def spread(work, func_data):
        return run(work, *func_data)
    return spread


# The Python C-order forms keep ``cancellable`` before ``func`` (C has it
# after func_data): ``*func_data`` must come last in a Python signature.
def _c_submit(self, task_type=None, cancellable=None, func=None, *func_data):
    func = _work_func('LoopManager.submit()', func, func_data)
    outcome = _Outcome()
    try:
        _check_callable('submit()', 'func', func)
        return _attach_outcome(_submit(self, task_type, _spread(_wrap_work(self, func, outcome)),
                                       func_data, cancellable),
                               outcome)
    except BaseException:
        _refused(func)
        raise


def _c_submit_full(self, task_type=None, priority=GLib.PRIORITY_DEFAULT, cancellable=None,
                   func=None, *func_data):
    """The C API, with ``cancellable`` before ``func`` as in :meth:`submit`'s
    C-order form."""
    func = _work_func('LoopManager.submit_full()', func, func_data)
    outcome = _Outcome()
    try:
        _check_priority('submit_full()', priority)
        _check_callable('submit_full()', 'func', func)
        return _attach_outcome(_submit_full(self, task_type, priority,
                                            _spread(_wrap_work(self, func, outcome)),
                                            func_data, cancellable),
                               outcome)
    except BaseException:
        _refused(func)
        raise


def _c_submit_after(self, task_type, delay_usec, cancellable, func, *func_data):
    func = _work_func('LoopManager.submit_after()', func, func_data)
    outcome = _Outcome()
    try:
        _check_usec('submit_after()', 'delay_usec', delay_usec, 0)
        _check_callable('submit_after()', 'func', func)
        return _attach_outcome(_submit_after(self, task_type, delay_usec,
                                             _spread(_wrap_work(self, func, outcome)),
                                             func_data, cancellable),
                               outcome)
    except BaseException:
        _refused(func)
        raise


def _c_submit_at(self, task_type, ready_time, cancellable, func, *func_data):
    func = _work_func('LoopManager.submit_at()', func, func_data)
    outcome = _Outcome()
    try:
        # Any time is valid, one in the past runs as soon as possible.
        _check_usec('submit_at()', 'ready_time', ready_time, _INT64_MIN)
        _check_callable('submit_at()', 'func', func)
        return _attach_outcome(_submit_at(self, task_type, ready_time,
                                          _spread(_wrap_work(self, func, outcome)),
                                          func_data, cancellable),
                               outcome)
    except BaseException:
        _refused(func)
        raise


def _call_with_keywords(fn, args, kwargs, work):
    return fn(*args, **kwargs)


def _keyword_timer(call, c_form, self, args, kwargs):
    """The keyword form of a timer: ``(time, fn, /, *args, task_type=None,
    cancellable=None, **kwargs)``; ``fn(*args, **kwargs)`` without the Work
    handle, through the C-order form."""
    if len(args) < 2:
        raise TypeError('%s takes the time and the function to call' % call)
    when, fn, fn_args = args[0], args[1], args[2:]
    task_type = kwargs.pop('task_type', None)
    cancellable = kwargs.pop('cancellable', None)
    _check_keyword_options(call, task_type, cancellable)
    if _aio.is_lone_coroutine(call, fn, fn_args or kwargs):
        func = fn
    else:
        _check_callable(call, 'fn', fn)
        func = functools.partial(_call_with_keywords, fn, fn_args, kwargs)
    return c_form(self, task_type, when, cancellable, func)


def submit_after(self, *args, **kwargs):
    """``submit_after(delay_usec, fn, /, *args, task_type=None,
    cancellable=None, **kwargs)`` -> :class:`Tether.Future`: calls
    ``fn(*args, **kwargs)`` on the manager's thread ``delay_usec``
    microseconds from now (a C timer; cancelling the future before it fires
    removes it), in the submitter's :mod:`contextvars` context.

    ``submit_after(task_type, delay_usec, cancellable, func, *func_data)``
    (first argument a str or None) is the C API as is: ``func(work,
    *func_data)``."""
    if _is_c_order(args, kwargs, 'func'):
        return _c_submit_after(self, *args, **kwargs)
    return _keyword_timer('LoopManager.submit_after()', _c_submit_after, self, args, kwargs)


def submit_at(self, *args, **kwargs):
    """``submit_at(ready_time, fn, /, *args, task_type=None,
    cancellable=None, **kwargs)`` -> :class:`Tether.Future`: as
    :meth:`submit_after`, at the monotonic time ``ready_time``
    (``GLib.get_monotonic_time()`` microseconds; a time past runs as soon as
    possible).

    ``submit_at(task_type, ready_time, cancellable, func, *func_data)``
    (first argument a str or None) is the C API as is."""
    if _is_c_order(args, kwargs, 'func'):
        return _c_submit_at(self, *args, **kwargs)
    return _keyword_timer('LoopManager.submit_at()', _c_submit_at, self, args, kwargs)


def submit_async(self, task_type, func, func_data=(), cancellable=None,
                 callback=None, *user_data, io_priority=GLib.PRIORITY_DEFAULT):
    """The C API, with ``io_priority`` as a keyword (GI would place it before
    ``cancellable``): the priority among queued work, as for
    :meth:`submit_full`."""
    # PyGObject 3.42 passes a non-final closure to the callback as *args and
    # insists on a tuple: accept None or a lone value too.
    if func_data is None:
        func_data = ()
    elif not isinstance(func_data, tuple):
        func_data = (func_data,)
    func = _work_func('LoopManager.submit_async()', func, func_data)
    try:
        _check_callable('submit_async()', 'func', func)
        _check_callable('submit_async()', 'callback', callback, optional=True)
    except TypeError:
        _refused(func)
        raise
    outcome = _Outcome()
    ready = None
    if callback is not None:
        def ready(source, result, *data):
            result._tether_outcome = outcome
            callback(source, result, *data)
    _submit_async(self, task_type, _wrap_work(self, func, outcome), func_data,
                  io_priority, cancellable, ready, *user_data)


_original_exception = _future.original_exception


def submit_finish(self, result):
    try:
        return _submit_finish(self, result)
    except GLib.Error as error:
        original = _original_exception(result, error)
        if original is None:
            raise
        raise original from None


def _call_without_work(func, work, *func_data):
    return func(*func_data)


def _log_coroutine_post(future):
    exc = future._tether_outcome.exception
    if exc is not None:
        _log.error('Fire-and-forget coroutine raised', exc_info=exc)


def post(self, *args, **kwargs):
    """``post(fn, /, *args, task_type=None, **kwargs)`` -> None: as the
    keyword :meth:`submit`, without a future; what ``fn`` raises is logged,
    and so is a job that ends cancelled. Raises
    :class:`Tether.NotRunningError` (and the like) when refused.

    ``post(task_type, func, *func_data)`` (first argument a str or None) is
    the C API as is, returning a bool."""
    if _is_c_order(args, kwargs, 'func'):
        return _c_post(self, *args, **kwargs)
    task_type = kwargs.pop('task_type', None)
    priority = kwargs.pop('priority', GLib.PRIORITY_DEFAULT)
    _check_keyword_options('post()', task_type, None)
    _check_priority('post()', priority)
    if priority != GLib.PRIORITY_DEFAULT:
        fn, fn_args = args[0], args[1:]
        if not _aio.is_lone_coroutine('post()', fn, fn_args or kwargs):
            _check_callable('post()', 'fn', fn)
            fn = functools.partial(fn, *fn_args, **kwargs)
        _c_post_full(self, task_type, priority, fn)
        return
    _lane.post(self, args[0], args[1:], kwargs, task_type)


def _c_post(self, task_type=None, func=None, *func_data):
    return _c_post_full(self, task_type, GLib.PRIORITY_DEFAULT, func, *func_data)


def _c_post_full(self, task_type=None, priority=GLib.PRIORITY_DEFAULT, func=None, *func_data):
    _check_priority('post()', priority)
    if type(func) is _aio.CoroutineType or _aio.is_coroutine_function(func):
        # A coroutine is tracked as a submission, so that stops wait for it
        # and cancel it; its exception is logged, as for any post. Posted
        # functions get no Work handle.
        if type(func) is not _aio.CoroutineType:
            func = functools.partial(_call_without_work, func)
        future = _c_submit_full(self, task_type, priority, None, func, *func_data)
        future.add_done_callback(_log_coroutine_post)
        return True
    _check_callable('post()', 'func', func)
    _manager_state(self)                 # known to the drain at exit
    if priority == GLib.PRIORITY_DEFAULT:
        return _post(self, task_type, _wrap_post(func), *func_data)
    return _post_full(self, task_type, priority, _wrap_post(func), *func_data)


def get_asyncio_loop(self):
    """Returns the manager's asyncio event loop, making it if needed.

    Any thread may call it while the manager runs; use the loop with
    ``asyncio.run_coroutine_threadsafe(coro, loop)`` and
    ``loop.call_soon_threadsafe(...)`` from other threads, and with any
    asyncio API on the manager's own thread (where
    ``asyncio.get_running_loop()`` returns it too). The loop lasts for
    the current run of the manager's thread. Raises :class:`RuntimeError`
    if the manager is not running.
    """
    return _aio.get_asyncio_loop(self)


# Keyword forms of the lifecycle and registry calls, checked setters.
_manager.install()
_stop_within = Tether.LoopManager.stop_within


def stop_within(self, timeout_usec=-1):
    """LoopManager.stop_within(): the keyword lane's jobs are counted one
    by one in ``n_ran`` and ``n_cancelled`` (C counts the lane's hold as one
    job)."""
    before = _lane.current_lane(self)
    lane = _lane.open_lane(self)
    stopped, n_ran, n_cancelled = _stop_within(self, timeout_usec)
    n_ran, n_cancelled = _lane.stop_counts(self, before, lane, n_ran, n_cancelled)
    return stopped, n_ran, n_cancelled


stop_within.__doc__ = (_stop_within.__doc__ or '') + '\n\n' + stop_within.__doc__


Tether.LoopManager.submit = submit
Tether.LoopManager.call = call
Tether.LoopManager.submit_full = _c_submit_full
Tether.LoopManager.post_full = _c_post_full
Tether.LoopManager.submit_after = submit_after
Tether.LoopManager.submit_at = submit_at
Tether.LoopManager.submit_async = submit_async
Tether.LoopManager.submit_finish = submit_finish
Tether.LoopManager.post = post


_promise_reject = Tether.Promise.reject


def _promise_resolve(self, value=None):
    """``resolve(value=None)``: resolves with a Python value, typed as a work
    function's return value is (bool, int, float, str, GLib.Variant,
    GObject.Object, a GObject.Value as is, any other object boxed)."""
    if isinstance(value, GObject.Value):
        self.resolve_value(value)
    elif isinstance(value, bool):
        self.resolve_boolean(value)
    elif isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        self.resolve_int64(value)
    elif isinstance(value, float):
        self.resolve_double(value)
    elif isinstance(value, str):
        self.resolve_string(value)
    elif isinstance(value, GLib.Variant):
        self.resolve_variant(value)
    elif isinstance(value, GObject.Object):
        self.resolve_object(value)
    elif value is None:
        self.resolve_value(None)
    else:
        self.resolve_value(GObject.Value(GObject.TYPE_PYOBJECT, value))


def _promise_reject_any(self, error):
    """``reject(error)``: a GLib.Error as is, or an exception as a work
    function's raised exception becomes one (Tether.Error.FAILED, or
    G_IO_ERROR_CANCELLED for a cancellation)."""
    if not isinstance(error, GLib.Error):
        if not isinstance(error, BaseException):
            raise TypeError('Promise.reject() takes a GLib.Error or an exception, not %r'
                            % (error,))
        error = _error_for(error)
    _promise_reject(self, error)


Tether.Promise.resolve = _promise_resolve
Tether.Promise.reject = _promise_reject_any
Tether.LoopManager.stop_within = stop_within


_get_n_pending = Tether.LoopManager.get_n_pending


def get_n_pending(self):
    """Accepted jobs not yet started: the C queue's and the keyword lane's."""
    return _get_n_pending(self) + _lane.n_queued(self)


Tether.LoopManager.get_n_pending = get_n_pending
_dup_stats = Tether.LoopManager.dup_stats


def dup_stats(self):
    """LoopManager.dup_stats(), with the keyword lane's jobs counted one by
    one in ``submitted``, ``completed``, ``failed``, ``cancelled``,
    ``rejected`` and ``queued`` (C sees the lane as one held job per run;
    that hold is taken out). The latency percentiles and ``wakeups`` are
    C's: keyword jobs are not sampled."""
    variant = _dup_stats(self)
    c_stats = variant.unpack()
    values = _lane.stats(self, c_stats)
    if values is c_stats:
        return variant
    types = {key: variant.lookup_value(key, None).get_type_string() for key in c_stats}
    return GLib.Variant('a{sv}', {key: GLib.Variant(types[key], value)
                                  for key, value in values.items()})


Tether.LoopManager.dup_stats = dup_stats
_lane.pin_thread_state = _pin_thread_state
_lane.register_manager = _manager_state
Tether.LoopManager.get_asyncio_loop = get_asyncio_loop


# -- Pools -----------------------------------------------------------------

class _NoDebug:
    """A pool has no debug flags of its own (its threads' managers do)."""

    __slots__ = ()
    flags = 0


_NO_DEBUG = _NoDebug()
_pool_submit_with_closure = Tether.Pool.submit_with_closure
_pool_post_with_closure = Tether.Pool.post_with_closure


_pool_submit_at_with_closure = Tether.Pool.submit_at_with_closure


def _pool_closure_timer(call, after):
    """The keyword forms' way in: the work as a GClosure (no callback leak),
    through submit_at_with_closure(); submit_after()'s delay becomes a
    monotonic time here."""
    def c_form(self, task_type, when, cancellable, func):
        func = _work_func(call, func, ())
        outcome = _Outcome()
        try:
            _check_usec(call, 'delay_usec' if after else 'ready_time', when,
                        0 if after else _INT64_MIN)
            ready_time = min(GLib.get_monotonic_time() + when, _INT64_MAX) if after else when
            return _attach_outcome(
                _pool_submit_at_with_closure(self, task_type, ready_time,
                                             _wrap_work_with(_NO_DEBUG, func, outcome),
                                             cancellable),
                outcome)
        except BaseException:
            _refused(func)
            raise
    return c_form


_k_pool_submit_after = _pool_closure_timer('Pool.submit_after()', True)
_k_pool_submit_at = _pool_closure_timer('Pool.submit_at()', False)
def _with_data(run, func_data):
    """A C-order work function and its data as one callable of the work
    alone, for a GClosure."""
    def bound(work):
        return run(work, *func_data)
    return bound


def _pool_timer(call, after):
    """The C-order form of a pool timer, ``(task_type, time, cancellable,
    func, *func_data)``, as the manager's; passed as a GClosure, as the
    keyword forms are (see :func:`_pool_closure_timer`)."""
    keyword_form = _pool_closure_timer(call, after)

    def c_form(self, task_type, when, cancellable, func, *func_data):
        func = _work_func(call, func, func_data)
        try:
            _check_callable(call, 'func', func)
        except BaseException:
            _refused(func)
            raise
        return keyword_form(self, task_type, when, cancellable,
                            _with_data(func, func_data) if func_data else func)
    return c_form


_c_pool_submit_after = _pool_timer('Pool.submit_after()', True)
_c_pool_submit_at = _pool_timer('Pool.submit_at()', False)
_pool_get_or_create = Tether.Pool.get_or_create
_pool_get_or_start = Tether.Pool.get_or_start


def _check_n_threads(call, n_threads):
    if type(n_threads) is not int or not 0 <= n_threads <= 1024:
        raise ValueError('%s: n_threads must be an int from 0 to 1024, not %r'
                         % (call, n_threads))


class Pool(Tether.Pool, concurrent.futures.Executor):
    """A :class:`Tether.Pool` that is also a
    :class:`concurrent.futures.Executor`: ``submit(fn, *args, **kwargs)``,
    ``map()``, ``shutdown()`` and ``with``, usable wherever an executor is
    expected (``loop.run_in_executor(pool, fn, *args)``).

    ``Tether.Pool(id=None, n_threads=0)`` makes it (0: one thread per
    processor); ``start()`` starts it, and ``with pool:`` stops it (DRAIN)
    on the way out. ``fn`` runs on whichever of the pool's threads is idle
    first, in submission order, in the submitter's :mod:`contextvars`
    context, with that thread's asyncio loop running; an ``async def``
    function runs as a Task there. Futures are :class:`Tether.Future`, a
    :class:`concurrent.futures.Future`. Every submission (``submit``,
    ``submit_after``, ``submit_at``, ``post``), keyword or C-order form,
    passes its function as a GClosure (``submit_with_closure()``,
    ``submit_at_with_closure()``, ``post_with_closure()``), which PyGObject
    3.42 frees, never as a GI callback, of which it leaks about 110 bytes
    per call."""

    __module__ = 'gi.overrides.Tether'

    def __init__(self, id=None, n_threads=0, **kwargs):
        if id is not None and not isinstance(id, str):
            raise TypeError('Pool(): id must be a str or None, not %r' % (id,))
        if type(n_threads) is not int or not 0 <= n_threads <= 1024:
            raise ValueError('Pool(): n_threads must be an int from 0 to 1024, not %r'
                             % (n_threads,))
        Tether.Pool.__init__(self, id=id, n_threads=n_threads, **kwargs)

    def start(self, task_type=None):
        """Starts the threads; see the C documentation. A pool started from
        Python is drained at interpreter exit, as managers given Python work
        are (see ``_drain_at_exit()``)."""
        started = Tether.Pool.start(self, task_type)
        _remember_pool(self)
        return started

    @staticmethod
    def get_or_create(id=None, n_threads=0, flags=Tether.LookupFlags.NONE, *,
                      force_create=False, strict=False):
        """Returns the pool registered for ``id``, creating it (not started)
        if needed: resolved through the calling thread's lineage with the
        flags of :meth:`LoopManager.get_or_create`, in one namespace with
        managers (an id registered as a manager raises
        :class:`Tether.InvalidArgumentError`). ``n_threads`` 0 takes the
        registered pool whatever its size; another value must match it."""
        call = 'Pool.get_or_create()'
        _manager._check_str(call, 'id', id)
        _check_n_threads(call, n_threads)
        return _pool_get_or_create(id, n_threads,
                                   _manager._lookup_flags(call, flags, force_create, strict))

    @staticmethod
    def get_or_start(id=None, n_threads=0, *, task_type=None, force_create=False,
                     strict=False):
        """Resolves ``id`` as :meth:`get_or_create` does, then, atomically:
        starts the pool if it is stopped (or new), returns it if it already
        runs with ``task_type``, and raises
        :class:`Tether.UnknownTaskTypeError` if it runs with another one.
        Like :meth:`start`, a pool started this way is drained at
        interpreter exit."""
        call = 'Pool.get_or_start()'
        _manager._check_str(call, 'id', id)
        _manager._check_str(call, 'task_type', task_type)
        _check_n_threads(call, n_threads)
        pool = _pool_get_or_start(id, n_threads,
                                  _manager._lookup_flags(call, 0, force_create, strict),
                                  task_type)
        _remember_pool(pool)
        return pool

    def submit(self, *args, **kwargs):
        """``submit(fn, /, *args, task_type=None, cancellable=None,
        **kwargs)`` -> :class:`Tether.Future`; ``submit(task_type,
        cancellable, func, *func_data)`` (first argument a str or None) is
        the C form, ``func(work, *func_data)``."""
        if _is_c_order(args, kwargs, 'func'):
            return self._c_submit(*args, **kwargs)
        if not args:
            raise TypeError('Pool.submit() takes the function to call')
        task_type = kwargs.pop('task_type', None)
        cancellable = kwargs.pop('cancellable', None)
        _check_keyword_options('Pool.submit()', task_type, cancellable)
        func = _keyword_func('Pool.submit()', args[0], args[1:], kwargs)
        outcome = _Outcome()
        try:
            _check_callable('Pool.submit()', 'func', func)
            # A GClosure, not a GI callback: PyGObject 3.42 leaks a libffi
            # closure (~110 bytes) per callback it passes, none per GClosure.
            return _attach_outcome(
                _pool_submit_with_closure(self, task_type,
                                          _wrap_work_with(_NO_DEBUG, func, outcome), cancellable),
                outcome)
        except BaseException:
            _refused(func)
            raise

    def _c_submit(self, task_type=None, cancellable=None, func=None, *func_data):
        func = _work_func('Pool.submit()', func, func_data)
        outcome = _Outcome()
        try:
            _check_callable('Pool.submit()', 'func', func)
            return _attach_outcome(
                _pool_submit_with_closure(
                    self, task_type,
                    _with_data(_wrap_work_with(_NO_DEBUG, func, outcome), func_data),
                    cancellable),
                outcome)
        except BaseException:
            _refused(func)
            raise

    def submit_after(self, *args, **kwargs):
        """``submit_after(delay_usec, fn, /, *args, task_type=None,
        cancellable=None, **kwargs)`` -> :class:`Tether.Future`: ``fn``
        joins the queue ``delay_usec`` microseconds from now (a timer on the
        pool's timer thread; cancelling the future first removes it);
        ``submit_after(task_type, delay_usec, cancellable, func, *func_data)``
        is the C form."""
        if _is_c_order(args, kwargs, 'func'):
            return _c_pool_submit_after(self, *args, **kwargs)
        return _keyword_timer('Pool.submit_after()', _k_pool_submit_after, self, args, kwargs)

    def submit_at(self, *args, **kwargs):
        """``submit_at(ready_time, fn, /, *args, task_type=None,
        cancellable=None, **kwargs)``: as :meth:`submit_after`, at the
        monotonic time ``ready_time`` (``GLib.get_monotonic_time()``
        microseconds); ``submit_at(task_type, ready_time, cancellable, func,
        *func_data)`` is the C form."""
        if _is_c_order(args, kwargs, 'func'):
            return _c_pool_submit_at(self, *args, **kwargs)
        return _keyword_timer('Pool.submit_at()', _k_pool_submit_at, self, args, kwargs)

    def post(self, *args, **kwargs):
        """``post(fn, /, *args, task_type=None, **kwargs)``: fire and forget;
        ``post(task_type, func, *func_data)`` is the C form."""
        if _is_c_order(args, kwargs, 'func'):
            task_type, func, func_data = args[0] if args else kwargs.pop('task_type', None), \
                (args[1] if len(args) > 1 else kwargs.pop('func')), args[2:]
        else:
            if not args:
                raise TypeError('Pool.post() takes the function to call')
            task_type = kwargs.pop('task_type', None)
            _check_keyword_options('Pool.post()', task_type, None)
            func = functools.partial(args[0], *args[1:], **kwargs)
            func_data = ()
        _check_callable('Pool.post()', 'func', func)
        if func_data:
            func = functools.partial(func, *func_data)
        return _pool_post_with_closure(self, task_type, _wrap_post(func))

    def stop_within(self, timeout_usec=-1):
        """Stops the pool draining its work, cancelling what is not done
        ``timeout_usec`` microseconds later (-1, the default: no limit).
        Returns ``(True, n_ran, n_cancelled)``; raises
        :class:`Tether.WouldDeadlockError`, having stopped nothing, on one
        of the pool's own threads."""
        _check_usec('Pool.stop_within()', 'timeout_usec', timeout_usec, -1)
        return Tether.Pool.stop_within(self, timeout_usec)

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """As :meth:`concurrent.futures.Executor.map`: results in order."""
        return concurrent.futures.Executor.map(self, fn, *iterables, timeout=timeout,
                                               chunksize=chunksize)

    def shutdown(self, wait=True, *, cancel_futures=False):
        """As :meth:`concurrent.futures.Executor.shutdown`: no new work from
        now on; queued work runs (or, with ``cancel_futures``, ends
        cancelled: a CANCEL stop, which also fires running work's
        cancellable). With ``wait``, returns once the threads have exited;
        without, stops them from a helper thread."""
        mode = StopMode.CANCEL if cancel_futures else StopMode.DRAIN
        if wait:
            self.stop(mode)
        else:
            threading.Thread(target=self.stop, args=(mode,), name='tether-pool-shutdown',
                             daemon=True).start()

    def __enter__(self):
        if not self.is_running():
            self.start()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.shutdown(wait=True)
        return False


# Pools started from Python, drained at interpreter exit: hash -> weak ref.
_pools = {}


def _forget_pool(key):
    with _managers_lock:
        _pools.pop(key, None)


def _remember_pool(pool):
    key = hash(pool)
    with _managers_lock:
        if key not in _pools:
            # A GObject weak reference: no attribute on the wrapper (see
            # _ManagerState), and the entry goes with the pool.
            _pools[key] = pool.weak_ref(_forget_pool, key)


Pool = override(Pool)
__all__.append('Pool')
StopMode = Tether.StopMode


# -- Interpreter exit ------------------------------------------------------

_EXIT_TIMEOUT_VARIABLE = 'TETHER_PY_EXIT_TIMEOUT'


def _exit_say(message):
    # Loud and plain: logging may be shut down or unconfigured by now.
    try:
        sys.stderr.write('Tether: %s\n' % message)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def _exit_timeout_usec():
    """TETHER_PY_EXIT_TIMEOUT in microseconds, -1 (no limit) if unset."""
    value = os.environ.get(_EXIT_TIMEOUT_VARIABLE, '').strip()
    if not value:
        return -1
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < 1e9:                  # NaN and inf too
        _exit_say('ignoring %s=%r: it must be a number of seconds, 0 or more; '
                  'waiting without limit' % (_EXIT_TIMEOUT_VARIABLE, value))
        return -1
    return int(seconds * 1e6)


def _drain_at_exit():
    """Ends, at interpreter exit, the work accepted from Python.

    Pools started from Python and still running are stopped first, with
    ``stop_within()`` and the same deadline as managers: their queued work
    runs.

    As ``concurrent.futures`` joins its workers, every manager that was given
    Python work and still runs is stopped with ``stop_within()``: its queued
    work runs (timers not yet due end cancelled, as any drain does), with
    the GIL released meanwhile. Then it waits for the drains of managers
    that were dropped while running (``LoopManager.wait_detached()``). With
    ``TETHER_PY_EXIT_TIMEOUT`` (seconds) set, work not finished by then ends
    cancelled (running work sees its cancellable fire, and keeps the exit
    waiting until it returns). Anything that ends cancelled or is left
    unfinished is reported on stderr: accepted work is never dropped
    without a trace.
    """
    timeout = _exit_timeout_usec()
    deadline = -1 if timeout < 0 else GLib.get_monotonic_time() + timeout

    def remaining():
        return -1 if deadline < 0 else max(0, deadline - GLib.get_monotonic_time())

    why = ('timers not yet due%s' % ('' if deadline < 0 else
                                     ', or work unfinished when %s=%s s passed'
                                     % (_EXIT_TIMEOUT_VARIABLE, timeout / 1e6)))
    # Pools first: their threads are managers the loop below does not know.
    with _managers_lock:
        pools = list(_pools.values())
    for weak in pools:
        pool = weak()
        if pool is None or not pool.is_running():
            continue
        try:
            _, n_ran, n_cancelled = Tether.Pool.stop_within(pool, remaining())
        except GLib.Error as error:
            _exit_say('at exit, could not drain pool %r: %s' % (pool.get_id(), error.message))
            continue
        if n_cancelled:
            _exit_say('at exit, pool %r ended %d accepted job(s) cancelled (%s); %d ran'
                      % (pool.get_id(), n_cancelled, why, n_ran))
    for state in list(_managers.values()):
        manager = state.weak()
        if manager is None or not manager.is_running():
            continue
        try:
            _, n_ran, n_cancelled = _stop_within(manager, remaining())
        except GLib.Error as error:
            _exit_say('at exit, could not drain manager %r: %s'
                      % (manager.get_id(), error.message))
            continue
        if n_cancelled:
            _exit_say('at exit, manager %r ended %d accepted job(s) cancelled (%s); '
                      '%d ran' % (manager.get_id(), n_cancelled, why, n_ran))
    if not Tether.LoopManager.wait_detached(remaining()):
        _exit_say('at exit, managers dropped while running had not drained their '
                  'work when %s=%s s passed; the process exits without it'
                  % (_EXIT_TIMEOUT_VARIABLE, timeout / 1e6))


# After threading's shutdown has joined the non-daemon threads, whose
# submissions are then all accepted; before the interpreter is torn down.
atexit.register(_drain_at_exit)




def _lineage_enter(self):
    self.adopt()
    return self


def _lineage_exit(self, exc_type, exc_value, traceback):
    Tether.Lineage.leave()
    return False


Tether.Lineage.__enter__ = _lineage_enter
Tether.Lineage.__exit__ = _lineage_exit


class Thread(threading.Thread):
    """A :class:`threading.Thread` that joins Tether's lineage as a child of
    the thread that calls :meth:`start`, exactly as ``tether_thread_new()``
    threads do in C: ``LoopManager.get_or_create()`` in it finds the managers
    its ancestors registered, and managers it registers are its own.

    Use it as ``threading.Thread`` (with a ``target`` or by overriding
    ``run``). For a thread you do not create, hand it
    ``Tether.Lineage.capture()`` and use the token with ``with`` instead.
    """

    def start(self):
        tokens = [Tether.Lineage.capture()]
        run = self.run

        def run_in_lineage():
            # The new place holds the parent; the token is not needed after.
            tokens.pop().attach()
            run()

        self.run = run_in_lineage
        try:
            super().start()
        except BaseException:
            self.run = run
            raise
