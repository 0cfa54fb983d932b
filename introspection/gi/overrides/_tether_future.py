# SPDX-License-Identifier: LGPL-2.1-or-later
"""``Tether.Future`` from Python: the C future as a real
:class:`concurrent.futures.Future`.

Every wrapper PyGObject makes for a ``TetherFuture``, whoever made the
future, is an instance of :class:`Future`, a subclass of both the GI class
and :class:`concurrent.futures.Future`: ``isinstance()``,
``concurrent.futures.wait()``, ``as_completed()`` and
``asyncio.wrap_future()`` accept it.

``wait()`` and ``as_completed()`` do not go through the public methods: they
take each future's ``_condition``, read its ``_state`` and add themselves to
its ``_waiters``. Those three are made on first use (:func:`_cf_state`),
which also adds an internal done callback, :func:`_cf_complete`: it moves
``_state`` to ``FINISHED`` (or ``CANCELLED_AND_NOTIFIED``) and tells the
waiters, both under ``_condition``, as :mod:`concurrent.futures` itself does,
so a waiter sees every future done exactly once. A future that is done
before then is made ``FINISHED`` at once (the done callback runs inline).
The state lives on the wrapper, which keeps the wrapper alive as long as the
C future (a toggle reference); that is harmless for a future, whose last
reference only finalizes it.
"""

import asyncio
import concurrent.futures
import threading
from concurrent.futures._base import (PENDING, CANCELLED_AND_NOTIFIED, FINISHED)

from gi.module import get_introspection_module
from gi.overrides import override
from gi.repository import GLib

from . import _tether_asyncio as _aio
from . import _tether_callbacks as _callbacks
from . import _tether_errors as _errors
from ._tether_manager import check_usec as _check_usec

Tether = get_introspection_module('Tether')

# The main thread waits in slices so that Ctrl-C interrupts a blocking
# result() within this many microseconds; other threads wait in one call.
_MAIN_THREAD_WAIT_SLICE_USEC = 50_000


def check_callable(call, name, value, optional=False):
    """TypeError at the call unless ``value`` is callable (or None, if optional)."""
    if not (callable(value) or (optional and value is None)):
        raise TypeError('%s: %s must be callable%s, not %r'
                        % (call, name, ' or None' if optional else '', value))


def original_exception(holder, error):
    outcome = getattr(holder, '_tether_outcome', None)
    if (outcome is not None and outcome.exception is not None
            and error.matches(Tether.error_quark(), Tether.Error.FAILED)):
        return outcome.exception
    return None



_original_exception = original_exception


_callbacks_lock = threading.Lock()


def _run_done_callback(future, fn):
    _callbacks.run_logged(fn, future)


def _run_done_callbacks(future, result):
    with _callbacks_lock:
        callbacks = future._tether_callbacks
        future._tether_callbacks = []
    for fn in callbacks:
        _run_done_callback(future, fn)


def _wait_on_callback_thread(future):
    future.wait_async(None, _run_done_callbacks)
    return GLib.SOURCE_REMOVE


def add_done_callback(self, fn, *, context=None):
    """Calls ``fn(future)`` once the future is done.

    With ``context`` None, as :class:`concurrent.futures.Future` does, a
    future that is already done calls ``fn`` at once, in this thread.
    Otherwise ``fn`` runs later on Tether's callback thread (named
    ``tether-callbacks``, one per process), in the order the callbacks were
    added, never on a manager's thread and never inside ``submit()`` or
    ``cancel()``. With a :class:`GLib.MainContext`, ``fn`` always runs in
    that context, when it is next iterated, even if the future is already
    done (the GTK main context, say). An exception ``fn`` raises, of any
    kind (``SystemExit`` and ``KeyboardInterrupt`` included), is logged on
    the ``gi.overrides.Tether`` logger and ignored.

    Callbacks on the callback thread share it: while ``fn`` blocks, no
    other done callback runs, so ``fn`` must not block on work that ends
    from another done callback (for example ``stop()`` a manager whose
    deferred work completes from a done callback): that never returns.
    Start such a call from a thread of its own.

    Thread: any thread.
    """
    check_callable('Future.add_done_callback()', 'fn', fn)
    if context is not None:
        if not isinstance(context, GLib.MainContext):
            raise TypeError('Future.add_done_callback(): context must be a GLib.MainContext '
                            'or None, not %r' % (context,))
        _add_done_callback(self, lambda future: _callbacks.invoke(
            context, _callbacks.run_logged, fn, future))
        return
    _add_done_callback(self, fn)


def _add_done_callback(self, fn):
    with _callbacks_lock:
        if not self.is_done():
            pending = getattr(self, '_tether_callbacks', None)
            if pending:
                pending.append(fn)
                return
            self._tether_callbacks = [fn]
            first = True
        else:
            first = False
    if first:
        _callbacks.invoke(None, _wait_on_callback_thread, self)
    else:
        _run_done_callback(self, fn)


_future_wait_done = Tether.Future.wait_done


def _main_thread_wait(future, deadline):
    """Waits for ``future`` until the monotonic ``deadline`` (None: no
    limit) if this is the main thread: True once it is done, False at the
    deadline. None, without waiting, in any other thread.

    Python runs signal handlers in the main thread, at the next bytecode. A
    Future.wait() that times out returns a GError, and PyGObject runs Python
    code to convert it: a KeyboardInterrupt raised there is printed and
    replaced by ``RuntimeError: Converting the GError failed`` (issue 12,
    item 3). So the main thread waits in slices with Future.wait_done(),
    which releases the GIL and cannot fail: a signal's handler runs here,
    between slices, and what it raises propagates. Other threads get no
    signals and wait in one call.
    """
    # Not current_thread(): on a manager's thread, which Python did not
    # start, it would register a _DummyThread that is never removed.
    if threading.get_ident() != threading.main_thread().ident:
        return None
    while True:
        if deadline is None:
            slice_usec = _MAIN_THREAD_WAIT_SLICE_USEC
        else:
            slice_usec = min(_MAIN_THREAD_WAIT_SLICE_USEC,
                             max(0, deadline - GLib.get_monotonic_time()))
        if _future_wait_done(future, slice_usec):
            return True
        if deadline is not None and GLib.get_monotonic_time() >= deadline:
            return False


def _wait(future, timeout):
    """Blocks until done; False if ``timeout`` seconds passed first."""
    if future.is_done():
        return True
    deadline = None if timeout is None else GLib.get_monotonic_time() + int(timeout * 1e6)
    done = _main_thread_wait(future, deadline)
    if done is not None:
        return done
    while True:
        if deadline is None:
            remaining = -1
        else:
            remaining = max(0, deadline - GLib.get_monotonic_time())
        try:
            _future_wait(future, remaining)
            return True
        except GLib.Error as error:
            if not error.matches(Tether.error_quark(), Tether.Error.TIMED_OUT):
                if future.is_done():
                    return True
                raise
        if future.is_done():
            return True
        if deadline is not None and GLib.get_monotonic_time() >= deadline:
            return False


def _timed_out(call, timeout):
    return _errors.new(Tether.Error.TIMED_OUT,
                       'Future.%s(): the work did not finish within %s s; it is still '
                       'running. Wait again, or call Future.cancel() to stop it'
                       % (call, timeout))


def _done_exception(future):
    """The exception of a done future that did not succeed."""
    status = future.get_status()
    if status == Tether.FutureStatus.CANCELLED:
        return concurrent.futures.CancelledError()
    error = future.dup_error()
    original = _original_exception(future, error)
    return original if original is not None else error


def result(self, timeout=None):
    """Returns the work's value, waiting up to ``timeout`` seconds.

    Raises :class:`TimeoutError` if the work is not done in time (the work
    goes on; cancel it with :meth:`cancel`), :class:`concurrent.futures.CancelledError`
    if it was cancelled, the exception a Python work function raised, or a
    :class:`GLib.Error` for any other failure. Called on the manager's own
    thread for work that only it can run, it raises ``GLib.Error``
    ``TETHER_ERROR_WOULD_DEADLOCK`` instead of hanging. In the main thread,
    Ctrl-C interrupts the wait with :class:`KeyboardInterrupt` (or whatever
    the signal's Python handler raises) within 50 ms; the work goes on,
    and the future can be waited on again.
    """
    if not _wait(self, timeout):
        raise _timed_out('result', timeout)
    if self.get_status() == Tether.FutureStatus.SUCCEEDED:
        return self.get_value()
    raise _done_exception(self)


def exception(self, timeout=None):
    """Returns the exception the work ended with, or None if it succeeded.

    Waits like :meth:`result`; raises :class:`concurrent.futures.CancelledError`
    if the work was cancelled.
    """
    if not _wait(self, timeout):
        raise _timed_out('exception', timeout)
    if self.get_status() == Tether.FutureStatus.SUCCEEDED:
        return None
    exc = _done_exception(self)
    if isinstance(exc, concurrent.futures.CancelledError):
        raise exc
    return exc


def done(self):
    """True once the work has ended, whatever the outcome."""
    return self.is_done()


def cancelled(self):
    """True if the work ended cancelled."""
    return self.get_status() == Tether.FutureStatus.CANCELLED


def _settle(future, aio_future):
    if aio_future.done():
        return
    if future.get_status() == Tether.FutureStatus.SUCCEEDED:
        aio_future.set_result(future.get_value())
    elif future.get_status() == Tether.FutureStatus.CANCELLED:
        aio_future.cancel()
    else:
        aio_future.set_exception(_done_exception(future))


def _await_on_manager_thread(future, aio_future):
    """An await in work of a manager (on its thread, its loop running):
    Future.wait_async() from this thread, whose callback runs here, on the
    manager's context. Made here, and not from the callback thread, the
    wait counts in wait-cycle detection: a stop of this manager, in DRAIN
    mode, from work of the manager awaited (which this manager's running
    task needs) begins the stop and returns instead of blocking both
    threads for ever. A wait that would close a cycle is refused with
    TETHER_ERROR_WOULD_DEADLOCK, which the await raises."""
    def on_waited(future, result, *unused):
        try:
            future.wait_finish(result)
        except GLib.Error as error:
            if not future.is_done():
                if not aio_future.done():
                    try:
                        aio_future.set_exception(error)
                    except RuntimeError:
                        pass        # the loop was closed
                return
        try:
            _settle(future, aio_future)
        except RuntimeError:
            pass                    # the loop was closed

    future.wait_async(None, on_waited)


def __await__(self):
    """Awaits the work from a coroutine on any asyncio loop, without blocking
    it. Cancelling the awaiting task cancels the work."""
    loop = asyncio.get_running_loop()
    aio_future = loop.create_future()
    if isinstance(loop, _aio.TetherEventLoop) and loop._thread_id == threading.get_ident():
        _await_on_manager_thread(self, aio_future)
    else:
        def on_done(future):
            try:
                loop.call_soon_threadsafe(_settle, future, aio_future)
            except RuntimeError:
                pass  # the loop was closed; nobody is awaiting any more

        self.add_done_callback(on_done)
    try:
        return (yield from aio_future.__await__())
    except asyncio.CancelledError:
        self.cancel()
        raise


_future_wait = Tether.Future.wait


def wait(self, timeout_usec):
    """The C method; in the main thread Ctrl-C interrupts it, as it does
    :meth:`result`, with :class:`KeyboardInterrupt`."""
    _check_usec('wait()', 'timeout_usec', timeout_usec, -1)
    if timeout_usec != 0 and not self.is_done():
        deadline = None if timeout_usec < 0 else GLib.get_monotonic_time() + timeout_usec
        done = _main_thread_wait(self, deadline)
        if done is False:
            raise GLib.Error.new_literal(
                Tether.error_quark(),
                'Work did not finish within %d us; it is still running. Wait again, '
                'or call Future.cancel() to stop it' % timeout_usec,
                Tether.Error.TIMED_OUT)
        if done:
            timeout_usec = 0                # the outcome, at once
    return _future_wait(self, timeout_usec)


def wait_done(self, timeout_usec):
    _check_usec('wait_done()', 'timeout_usec', timeout_usec, -1)
    return _future_wait_done(self, timeout_usec)


def _future_repr(self):
    return '<Tether.Future at 0x%x status=%s>' % (id(self), self.get_status().value_nick)


_future_cancel = Tether.Future.cancel


def cancel(self):
    """Cancels the work; True if the future is now cancelled.

    Queued work (and a timer not yet due) ends cancelled at once and never
    runs: True. Running work sees its cancellable fire and decides its own
    outcome: False, as :meth:`concurrent.futures.Future.cancel` says of
    running work (call :meth:`cancelled` later to see how it ended). A
    done future is unchanged: True only if it had been cancelled. No done
    callback runs inside this call.

    Thread: any thread.
    """
    _future_cancel(self)
    return self.get_status() == Tether.FutureStatus.CANCELLED


def running(self):
    """True while the work has started and not ended (its function runs,
    it is deferred, or its coroutine awaits). Thread: any thread."""
    return self.is_running()


# -- concurrent.futures internals ------------------------------------------

class _CfState:
    __slots__ = ('condition', 'state', 'waiters')

    def __init__(self):
        self.condition = threading.Condition()
        self.state = PENDING
        self.waiters = []


_cf_lock = threading.Lock()


def _cf_complete(future):
    state = future.__dict__['_tether_cf']
    status = future.get_status()
    with state.condition:
        if state.state != PENDING:
            return
        if status == Tether.FutureStatus.CANCELLED:
            state.state = CANCELLED_AND_NOTIFIED
            for waiter in state.waiters:
                waiter.add_cancelled(future)
        else:
            state.state = FINISHED
            for waiter in state.waiters:
                if status == Tether.FutureStatus.SUCCEEDED:
                    waiter.add_result(future)
                else:
                    waiter.add_exception(future)
        state.condition.notify_all()


def _cf_state(future):
    state = future.__dict__.get('_tether_cf')
    if state is not None:
        return state
    with _cf_lock:
        state = future.__dict__.get('_tether_cf')
        made = state is None
        if made:
            state = _CfState()
            future._tether_cf = state
    if made:
        # Inline if the future is done already: the state is FINISHED before
        # the caller can take the condition.
        _add_done_callback(future, _cf_complete)
    return state


def add_progress_callback(self, fn, *, context=None):
    """Calls ``fn(future, progress)`` with the progress the work reports
    (``work.report_progress(GLib.Variant(...))`` or
    ``work.report_fraction(fraction, message)``), unpacked to Python values:
    ``report_fraction(0.5, 'Hashing')`` arrives as ``(0.5, 'Hashing')``.

    Reports are coalesced: at most one delivery is on its way at a time and
    it carries the latest value, so a fast reporter floods nobody. No call
    comes once the future is done, so none after the done callbacks run in
    the same place, nor after an ``await`` of the future has returned.

    Where ``fn`` runs: by default on Tether's callback thread, like done
    callbacks; with a :class:`GLib.MainContext`, in that context (the GTK
    main context, say); with an :mod:`asyncio` event loop, in that loop
    (``loop.call_soon_threadsafe()`` from the callback thread, in the order
    the deliveries came). Setting a place for one callback sets it for the
    future's other ``progress`` handlers too (see
    :meth:`Tether.Future.set_progress_context`). What ``fn`` raises is
    logged and ignored.

    Thread: any thread. Only futures of the C-order ``submit()`` (whose
    work gets a ``Tether.Work``) have progress.
    """
    check_callable('Future.add_progress_callback()', 'fn', fn)
    loop = None
    if context is None:
        target = _callbacks.default_context()
    elif isinstance(context, GLib.MainContext):
        target = context
    elif isinstance(context, asyncio.AbstractEventLoop):
        loop = context
        target = _callbacks.default_context()
    else:
        raise TypeError('Future.add_progress_callback(): context must be a GLib.MainContext, '
                        'an asyncio event loop or None, not %r' % (context,))

    def on_progress(future, progress):
        value = progress.unpack()
        if loop is None:
            _callbacks.run_logged(fn, future, value)
            return
        try:
            loop.call_soon_threadsafe(_callbacks.run_logged, fn, future, value)
        except RuntimeError:
            pass                        # the loop was closed

    self.connect('progress', on_progress)
    self.set_progress_context(target)


def _refuse(self, *args):
    raise RuntimeError('A Tether.Future is completed by its work (Work.return_*() in C); '
                       'it cannot be set from outside. Use Tether.PythonFuture or '
                       'concurrent.futures.Future for a future you complete yourself')


class Future(Tether.Future, concurrent.futures.Future):
    """A C future (``TetherFuture``) that is also a
    :class:`concurrent.futures.Future`; see the module's documentation."""

    # override() finds the namespace from the module name.
    __module__ = 'gi.overrides.Tether'

    add_done_callback = add_done_callback
    add_progress_callback = add_progress_callback
    result = result
    exception = exception
    done = done
    cancelled = cancelled
    cancel = cancel
    running = running
    wait = wait
    wait_done = wait_done
    __await__ = __await__
    __repr__ = _future_repr
    set_result = set_exception = set_running_or_notify_cancel = _refuse

    @property
    def _condition(self):
        return _cf_state(self).condition

    @property
    def _state(self):
        return _cf_state(self).state

    @property
    def _waiters(self):
        return _cf_state(self).waiters


Future = override(Future)
__all__ = ['Future']
