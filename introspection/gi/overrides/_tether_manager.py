# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keyword forms of the lifecycle and registry calls of ``Tether.LoopManager``.

Every C-order call keeps working (``get_or_create(id, flags)``,
``start(task_type)``, ``stop(mode)``, ``stop_within(timeout_usec)``); each
argument gets the default the C documentation suggests, and may be passed by
keyword. Arguments of the wrong type raise :class:`TypeError`, and values C
would refuse with a critical raise :class:`ValueError`, at the call.
Conditions found by C raise the ``Tether.*Error`` classes (see
``_tether_errors``).
"""

import asyncio
import threading
from typing import Optional, Tuple

from gi.module import get_introspection_module
from gi.repository import Gio, GLib

from . import _tether_asyncio as _aio
from . import _tether_errors as _errors

Tether = get_introspection_module('Tether')

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

_get_or_create = Tether.LoopManager.get_or_create
_get_or_start = Tether.LoopManager.get_or_start
_start = Tether.LoopManager.start
_stop = Tether.LoopManager.stop
_stop_within = Tether.LoopManager.stop_within
_stop_async = Tether.LoopManager.stop_async
_stop_finish = Tether.LoopManager.stop_finish

_FORCE_CREATE = int(Tether.LookupFlags.FORCE_CREATE)
_STRICT = int(Tether.LookupFlags.STRICT)
_KNOWN_FLAGS = _FORCE_CREATE | _STRICT
# PyGObject takes flags as the flags type, or 0, which it converts three
# times faster (0.35 us against 1.1 us per call): NONE, the usual, goes as 0.
_FLAGS = {0: 0, _FORCE_CREATE: Tether.LookupFlags.FORCE_CREATE, _STRICT: Tether.LookupFlags.STRICT}
_STOP_MODES = (int(Tether.StopMode.DRAIN), int(Tether.StopMode.CANCEL))


def check_usec(call, name, value, minimum, maximum=_INT64_MAX):
    """Argument errors raised at the call, instead of a GLib-CRITICAL and a
    None from C that fails later, far from the cause."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError('%s: %s must be a number of microseconds, not %s'
                        % (call, name, type(value).__name__))
    if not minimum <= value <= maximum:          # NaN fails this too
        if maximum == _INT64_MAX:
            limits = 'at least %d' % minimum
        else:
            limits = 'between %d and %d' % (minimum, maximum)
        raise ValueError('%s: %s must be %s microseconds, not %r'
                         % (call, name, limits, value))


def _check_str(call, name, value):
    if value is not None and not isinstance(value, str):
        raise TypeError('%s: %s must be a str or None, not %s'
                        % (call, name, type(value).__name__))


def _check_bool(call, name, value):
    if not isinstance(value, bool):
        raise TypeError('%s: %s must be True or False, not %r' % (call, name, value))


def _lookup_flags(call, flags, force_create, strict):
    """``flags`` with the keywords added, checked as C would, so that the
    error names this call and its keywords."""
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise TypeError('%s: flags must be Tether.LookupFlags, not %s'
                        % (call, type(flags).__name__))
    _check_bool(call, 'force_create', force_create)
    _check_bool(call, 'strict', strict)
    flags = int(flags)
    if flags & ~_KNOWN_FLAGS:
        raise _errors.new(Tether.Error.INVALID_ARGUMENT,
                          '%s: flags 0x%x are not Tether.LookupFlags; pass NONE, FORCE_CREATE '
                          'or STRICT' % (call, flags & ~_KNOWN_FLAGS))
    if force_create:
        flags |= _FORCE_CREATE
    if strict:
        flags |= _STRICT
    if flags == _KNOWN_FLAGS:
        raise _errors.new(Tether.Error.INVALID_ARGUMENT,
                          '%s: force_create and strict (FORCE_CREATE and STRICT) cannot be '
                          'combined: force_create=True always makes a new manager, strict=True '
                          'only finds an existing one' % call)
    return _FLAGS[flags]


def get_or_create(id: Optional[str] = None, flags: 'Tether.LookupFlags' = Tether.LookupFlags.NONE,
                  *, force_create: bool = False, strict: bool = False) -> 'Tether.LoopManager':
    """Returns the manager registered for ``id``, creating it if needed.

    ``id`` None (or ``''``) is the default namespace, ``'default'``. It is
    resolved through the calling thread's lineage, as in C: a thread made
    with :class:`Tether.Thread` finds what its parent registered. A manager
    this call created is not started; see :meth:`get_or_start` for the
    call that also makes sure it runs.

    ``force_create=True`` always makes a new manager (replacing the
    registered one for this thread); ``strict=True`` only finds an existing
    one, and raises :class:`Tether.ManagerNotFoundError` (a
    :class:`LookupError`) otherwise. ``flags`` (``Tether.LookupFlags``) is
    the C-order spelling of the same; both together raise
    :class:`Tether.InvalidArgumentError` (a :class:`ValueError`).
    """
    call = 'LoopManager.get_or_create()'
    _check_str(call, 'id', id)
    return _get_or_create(id, _lookup_flags(call, flags, force_create, strict))


def get_or_start(id: Optional[str] = None, *, task_type: Optional[str] = None,
                 force_create: bool = False, strict: bool = False) -> 'Tether.LoopManager':
    """Returns the manager registered for ``id``, running with ``task_type``.

    Resolves ``id`` as :meth:`get_or_create` does, then, atomically: starts
    the manager if it is stopped (or new), returns it if it already runs
    with ``task_type``, and raises :class:`Tether.UnknownTaskTypeError` if it
    runs with another one. Task types match only if equal: ``None`` (any
    task type) matches only a manager started with ``None``. While a stop of
    the manager is in progress, this waits for the stop to end and starts it
    again, as :meth:`start` does (on the stopping manager's own thread it
    raises :class:`Tether.AlreadyRunningError` instead).

    Any number of threads may race on one id: exactly one starts the
    manager and all get it, running. Threads agree on one manager when they
    resolve to the same registration: an ancestor registered ``id`` (threads
    made with :class:`Tether.Thread`), or they adopted one lineage token
    (``with token:``, a token from ``Tether.Lineage.capture()``). Plain
    sibling threads with no registration above them each register their own,
    as with :meth:`get_or_create`.
    """
    call = 'LoopManager.get_or_start()'
    _check_str(call, 'id', id)
    _check_str(call, 'task_type', task_type)
    flags = _lookup_flags(call, 0, force_create, strict)
    return _get_or_start(id, flags, task_type)


def start(self, task_type: Optional[str] = None) -> bool:
    """Starts the manager's thread; it then accepts work of ``task_type``
    only (None: any). Raises :class:`Tether.AlreadyRunningError` if it runs;
    waits for a stop in progress first. Returns True."""
    _check_str('LoopManager.start()', 'task_type', task_type)
    return _start(self, task_type)


def _check_mode(call, mode):
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise TypeError('%s: mode must be Tether.StopMode, not %s' % (call, type(mode).__name__))
    if int(mode) not in _STOP_MODES:
        raise ValueError('%s: mode must be Tether.StopMode.DRAIN or CANCEL, not %r'
                         % (call, mode))


def stop(self, mode: 'Tether.StopMode' = Tether.StopMode.DRAIN) -> None:
    """Stops the manager: ``Tether.StopMode.DRAIN`` (the default) runs the
    accepted work first, ``CANCEL`` ends it cancelled. From another thread
    this returns once the manager's thread has exited."""
    _check_mode('LoopManager.stop()', mode)
    _stop(self, mode)


def _settle_stop(aio_future, manager, result):
    """In the asyncio loop's thread: the outcome of stop_finish()."""
    if aio_future.done():
        return
    try:
        aio_future.set_result(_stop_finish(manager, result))
    except GLib.Error as error:
        if error.matches(Gio.io_error_quark(), _errors.IO_CANCELLED):
            aio_future.cancel()
        else:
            aio_future.set_exception(error)


def _stop_awaitable(self, mode, cancellable):
    """An asyncio future for stop_async() without a callback."""
    call = 'LoopManager.stop_async()'
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise TypeError('%s: pass a callback (GIO style), or await it from a coroutine; '
                        'stop() blocks until the manager has stopped' % call) from None
    if Tether.LoopManager.ref_current() == self:
        # The awaiting coroutine is work of this manager, which the stop
        # waits for: the await could never end.
        raise _errors.new(Tether.Error.WOULD_DEADLOCK,
                          '%s: awaiting the stop of manager %r from its own work would wait '
                          'for itself; call manager.stop() there (it begins the stop and '
                          'returns), or stop_async() with a callback' % (call, self.get_id()))
    if cancellable is None:
        cancellable = Gio.Cancellable()
    aio_future = loop.create_future()
    # Cancelling the awaiting task abandons the wait (never the stop).
    aio_future.add_done_callback(lambda f: f.cancelled() and cancellable.cancel())
    if isinstance(loop, _aio.TetherEventLoop) and loop._thread_id == threading.get_ident():
        # A manager's asyncio loop: its thread-default context is the one
        # the loop runs on, where the callback comes.
        _stop_async(self, mode, cancellable,
                    lambda manager, result, *unused: _settle_stop(aio_future, manager, result))
        return aio_future

    # Any other asyncio loop runs no GLib context: the callback comes in a
    # context of its own, driven by a thread that only waits for it, and
    # crosses to the loop with call_soon_threadsafe(). The stop itself begins
    # here, before this returns.
    context = GLib.MainContext.new()
    delivered = []

    def stopped(manager, result, *unused):
        delivered.append(True)
        try:
            loop.call_soon_threadsafe(_settle_stop, aio_future, manager, result)
        except RuntimeError:
            pass                        # the loop was closed; nobody awaits any more

    def drive():
        while not delivered:
            context.iteration(True)

    context.push_thread_default()
    try:
        _stop_async(self, mode, cancellable, stopped)
    finally:
        context.pop_thread_default()
    threading.Thread(target=drive, name='tether-stop-wait', daemon=True).start()
    return aio_future


def stop_async(self, mode: 'Tether.StopMode' = Tether.StopMode.DRAIN,
               cancellable: Optional['Gio.Cancellable'] = None, callback=None, *user_data):
    """Stops the manager without blocking: the stop begins (and ``mode``
    applies) before this returns.

    With a ``callback`` this is the C call: ``callback(manager, result,
    *user_data)`` runs in this thread's thread-default ``GLib.MainContext``
    once the manager has stopped, and calls :meth:`stop_finish`.

    Without one it returns an :class:`asyncio.Future` of the running loop,
    so that a coroutine can ``await manager.stop_async()``: it resolves to
    True once the manager has stopped. Cancelling the awaiting task (or
    ``cancellable``) abandons the wait, never the stop: the future is then
    cancelled. On any asyncio loop; from work of the manager itself it
    raises :class:`Tether.WouldDeadlockError` (the stop waits for that
    work), and with no running loop a :class:`TypeError`."""
    call = 'LoopManager.stop_async()'
    _check_mode(call, mode)
    if cancellable is not None and not isinstance(cancellable, Gio.Cancellable):
        raise TypeError('%s: cancellable must be a Gio.Cancellable or None, not %r'
                        % (call, cancellable))
    if callback is None:
        return _stop_awaitable(self, mode, cancellable)
    if not callable(callback):
        raise TypeError('%s: callback must be callable or None, not %r' % (call, callback))
    return _stop_async(self, mode, cancellable, callback, *user_data)


def stop_within(self, timeout_usec: int = -1) -> Tuple[bool, int, int]:
    """Stops the manager draining its work, cancelling what is not done
    ``timeout_usec`` microseconds later (-1, the default: no limit).
    Returns ``(True, n_ran, n_cancelled)``. Raises
    :class:`Tether.WouldDeadlockError`, having stopped nothing, on the
    manager's own thread or where the wait would close a cycle."""
    check_usec('LoopManager.stop_within()', 'timeout_usec', timeout_usec, -1)
    return _stop_within(self, timeout_usec)


def _checked_setter(name, minimum, maximum=_INT64_MAX):
    setter = getattr(Tether.LoopManager, name)

    def checked(self, value):
        check_usec('LoopManager.%s()' % name, 'value', value, minimum, maximum)
        return setter(self, value)
    checked.__name__ = checked.__qualname__ = name
    checked.__doc__ = setter.__doc__
    return checked


_SETTERS = (('set_submit_timeout', -1, _INT64_MAX),
            ('set_slow_threshold', 0, _INT64_MAX),
            ('set_wait_spin', 0, 1_000_000),
            ('set_loop_spin', 0, 1_000_000))


def install():
    """Puts the keyword forms and checked setters on ``Tether.LoopManager``."""
    Tether.LoopManager.get_or_create = staticmethod(get_or_create)
    Tether.LoopManager.get_or_start = staticmethod(get_or_start)
    Tether.LoopManager.start = start
    Tether.LoopManager.stop = stop
    Tether.LoopManager.stop_async = stop_async
    Tether.LoopManager.stop_within = stop_within
    for name, minimum, maximum in _SETTERS:
        setattr(Tether.LoopManager, name, _checked_setter(name, minimum, maximum))
