# SPDX-License-Identifier: LGPL-2.1-or-later
"""The asyncio event loop of a Tether manager's thread.

Every manager thread that runs Python work gets one asyncio event loop,
:class:`TetherEventLoop`, implemented on the manager's ``GMainContext``: C
work, GLib sources and asyncio callbacks share the one thread and context.
The loop is made on the first need (the first Python work on that run of the
thread, or :meth:`Tether.LoopManager.get_asyncio_loop` from any thread), is
the running loop of the manager's thread (``asyncio.get_running_loop()``
and ``asyncio.get_event_loop()`` return it, in plain work functions too),
and is released when that run of the thread ends: tasks still pending then
are cancelled and given up to :data:`EXIT_GRACE` seconds to finish, then
the loop is closed on its own thread.

Tether owns the loop: ``run_forever()``, ``run_until_complete()``,
``stop()`` and ``close()`` are refused, and ``asyncio.run()`` on a manager's
thread says to await the coroutine or submit it instead.

How it runs. One GLib source per loop, made once: a ``GCancellableSource``
whose callback drains the ready queue (as ``BaseEventLoop._run_once`` does,
minus the ``select()``). It has no prepare or check function, so a manager
whose loop has nothing to do pays nothing per iteration and never takes the
GIL for it: the source's ready time is 0 while callbacks are ready, the
earliest timer's deadline otherwise, and file descriptors are watched with
``g_source_add_unix_fd()`` on the same source. ``call_soon_threadsafe()``
appends and sets the ready time to 0, which wakes the context. No GLib
function is called per callback, so PyGObject 3.42's per-call closure leak
does not apply.
"""

import asyncio
import concurrent.futures
import heapq
import logging
import selectors
import sys
import threading
import time
import types
from asyncio import events as _events

from gi.module import get_introspection_module
from gi.repository import GLib, GObject, Gio

from . import _tether_errors as _errors

__all__ = ['TetherEventLoop', 'EXIT_GRACE']

_log = logging.getLogger('gi.overrides.Tether')

EXIT_GRACE = 1.0
"""Seconds the tasks still pending when a manager's thread ends (tasks no
submission waits for: made with ``create_task()``,
``run_coroutine_threadsafe()``...) have to finish once cancelled."""

# How much one dispatch of the loop's source may run before GLib's other
# sources (the manager's queue among them) get a turn: rounds of the ready
# queue, and callbacks.
_MAX_ROUNDS = 64
_MAX_CALLBACKS = 4096

_get_running_loop = _events._get_running_loop
_set_running_loop = _events._set_running_loop

# The loop this thread's Python thread state has installed as its running
# loop. asyncio's own _get_running_loop() calls getpid() each time (to
# notice a fork), a system call that costs over a microsecond on a VM; this
# is read instead on the paths every job takes. It lives in the thread
# state, as the running loop does, so a thread state made afresh (no pin)
# reads None here and installs the loop again.
_installed = threading.local()
_get_ident = threading.get_ident
_monotonic = time.monotonic
CoroutineType = types.CoroutineType

# Work that raises one of these ends cancelled, as a Task or a
# concurrent.futures job that raises it does (both submit paths).
CANCELLED_ERRORS = (asyncio.CancelledError, concurrent.futures.CancelledError)


def is_lone_coroutine(call, fn, has_arguments):
    """True if ``fn`` is a coroutine object, which is submitted on its own:
    it has no parameters left to receive arguments. One given arguments is
    closed unrun and refused with a TypeError naming ``call``. Every submit
    form checks through here."""
    if type(fn) is not CoroutineType:
        return False
    if has_arguments:
        fn.close()
        raise TypeError('%s: a coroutine object is submitted alone; pass an async def '
                        'function to give it arguments' % call)
    return True
_Task = asyncio.Task

_REFUSED = ('Tether runs the asyncio loop of manager {id!r} on the manager\'s '
            'thread for as long as the manager runs; {what} is refused. Submit '
            'coroutines to the manager (manager.submit(task_type, None, '
            'async_func, ...)) or use asyncio.run_coroutine_threadsafe(coro, '
            'manager.get_asyncio_loop()), and stop the manager with '
            'manager.stop() instead.')


class _Selector(selectors._BaseSelectorImpl):
    """Registers file descriptors on the loop's GLib source; GLib polls
    them with the rest of the context."""

    def __init__(self, source):
        super().__init__()
        self._source = source
        self._tags = {}

    @staticmethod
    def _condition(events):
        condition = GLib.IOCondition(0)
        if events & selectors.EVENT_READ:
            condition |= GLib.IOCondition.IN
        if events & selectors.EVENT_WRITE:
            condition |= GLib.IOCondition.OUT
        return condition

    def register(self, fileobj, events, data=None):
        key = super().register(fileobj, events, data)
        self._tags[key.fd] = self._source.add_unix_fd(key.fd, self._condition(events))
        return key

    def unregister(self, fileobj):
        key = super().unregister(fileobj)
        tag = self._tags.pop(key.fd, None)
        if tag is not None and self._source is not None:
            self._source.remove_unix_fd(tag)
        return key

    def modify(self, fileobj, events, data=None):
        try:
            key = self._fd_to_key[self._fileobj_lookup(fileobj)]
        except KeyError:
            raise KeyError(f'{fileobj!r} is not registered') from None
        if events != key.events:
            self._source.modify_unix_fd(self._tags[key.fd], self._condition(events))
        key = key._replace(events=events, data=data)
        self._fd_to_key[key.fd] = key
        return key

    def ready(self):
        """The registered descriptors GLib found ready, as (key, events)."""
        ready = []
        query = self._source.query_unix_fd
        for fd, tag in self._tags.items():
            condition = query(tag)
            if not condition:
                continue
            events = 0
            # ERR, HUP and NVAL wake readers and writers alike.
            if condition & ~GLib.IOCondition.OUT:
                events |= selectors.EVENT_READ
            if condition & ~GLib.IOCondition.IN:
                events |= selectors.EVENT_WRITE
            key = self._fd_to_key[fd]
            events &= key.events
            if events:
                ready.append((key, events))
        return ready

    def select(self, timeout=None):
        # Only BaseEventLoop._run_once calls this, and this loop never runs it.
        return self.ready()

    def close(self):
        self._tags.clear()
        self._source = None
        super().close()


class TetherEventLoop(asyncio.SelectorEventLoop):
    """The asyncio event loop of a Tether manager's thread.

    Made by Tether, never by hand: get it with
    ``asyncio.get_running_loop()`` on the manager's thread or
    :meth:`Tether.LoopManager.get_asyncio_loop` anywhere. It is a
    :class:`asyncio.SelectorEventLoop` whose selector and clock are the
    manager's ``GMainContext``: sockets, streams, servers, ``getaddrinfo``,
    ``run_in_executor`` and subprocesses work as on a stock loop. Signal
    handlers do not: Python delivers signals to the main thread only.
    """

    def __init__(self, manager_id, context):
        self._tether_id = manager_id
        self._tether_context = context
        self._tether_closing = False
        # Set under _foreign_lock once the thread is exiting: from then on
        # other threads can add nothing (see call_soon_threadsafe()).
        self._tether_exiting = False
        self._foreign_lock = threading.Lock()
        self._dispatching = False
        # The ready time the source was last given (usec, -1: none), and
        # whether call_soon() must set it to 0.
        self._armed_usec = -1
        self._wake_on_soon = True
        self._tether_tasks = set()
        self._clock_offset = 0
        # A GCancellableSource, never cancelled, is a C source without
        # prepare or check whose dispatch resets the ready time to -1 before
        # calling back: exactly a source driven by its ready time and unix
        # fds. (A GLib.Source subclass would run Python prepare and check,
        # under the GIL, on every iteration of the manager's context.)
        # PyGObject binds the callback as a GSourceFunc: the cancellable it
        # is called with lands in the user-data slot, which PyGObject
        # ignores, so the callback gets no arguments it needs.
        #
        # The loop keeps the cancellable's wrapper: GLib 2.74 drops the
        # source's reference to it under a process-wide lock (in dispose).
        # Were that the last one, PyGObject's data on it would need the GIL
        # there, while another thread holding the GIL (dropping its own
        # loop's source) waits for that lock: two loops closing at once
        # deadlocked (test_gil_unref). The last unref is this wrapper's.
        self._tether_cancellable = Gio.Cancellable()
        source = self._tether_cancellable.source_new()
        source.set_name('[tether] asyncio loop of %s' % manager_id)
        source.set_callback(self._tether_dispatch)
        self._source = source
        super().__init__(_Selector(source))
        # GLib's monotonic clock and time.monotonic() are the same clock on
        # the platforms GLib supports; measured once, to be exact anyway.
        self._clock_offset = GLib.get_monotonic_time() - int(_monotonic() * 1e6)
        source.attach(context)

    def __repr__(self):
        return '<%s manager=%r closed=%s debug=%s>' % (
            type(self).__name__, self._tether_id, self.is_closed(), self.get_debug())

    # The loop runs whenever the manager runs; nobody else may run it.

    def _refuse(self, what):
        raise RuntimeError(_REFUSED.format(id=self._tether_id, what=what))

    def run_forever(self):
        self._refuse('run_forever()')

    def run_until_complete(self, future):
        if asyncio.iscoroutine(future):
            future.close()
        self._refuse('run_until_complete()')

    def stop(self):
        self._refuse('stop()')

    def close(self):
        if self._tether_closing:
            return super().close()
        self._refuse('close()')

    def is_running(self):
        return not (self._closed or self._tether_closing)

    # No self-pipe: the context's own wake-up does that job.

    def _make_self_pipe(self):
        pass

    def _close_self_pipe(self):
        pass

    def _write_to_self(self):
        source = self._source
        if source is not None:
            source.set_ready_time(0)

    # Scheduling: the source's ready time follows the ready queue and the
    # earliest timer, set once per dispatch (and only when it changes).

    def call_soon(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError('Event loop is closed')
        if self._debug:
            self._check_thread()
            self._check_callback(callback, 'call_soon')
        handle = _events.Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        if self._wake_on_soon:
            self._arm(0)
        return handle

    def call_soon_threadsafe(self, callback, *args, context=None):
        # Once the thread is exiting, other threads are refused as by a
        # closed loop: a callback appended later would be dropped unrun by
        # close() (a run_coroutine_threadsafe() future left pending for
        # ever, its coroutine never awaited), and a steady stream of them
        # would keep the exit's grace period busy with new tasks. The lock
        # makes the check and the append one step against the exit.
        if _get_ident() == self._thread_id:
            return super().call_soon_threadsafe(callback, *args, context=context)
        with self._foreign_lock:
            if self._tether_exiting:
                raise RuntimeError('Event loop is closed: manager %r is stopping'
                                   % self._tether_id)
            return super().call_soon_threadsafe(callback, *args, context=context)

    def create_task(self, coro, *, name=None, context=None):
        # BaseEventLoop.create_task() without its helper calls: it is on
        # the path of every coroutine submitted to the manager.
        if self._closed:
            raise RuntimeError('Event loop is closed')
        if self._task_factory is None:
            task = _Task(coro, loop=self, name=name, context=context)
            if task._source_traceback:
                del task._source_traceback[-1]
            return task
        if context is None:
            task = self._task_factory(self, coro)
        else:
            task = self._task_factory(self, coro, context=context)
        if name is not None:
            task.set_name(name)
        return task

    def call_at(self, when, callback, *args, context=None):
        timer = super().call_at(when, callback, *args, context=context)
        if not self._dispatching:
            usec = self._usec(when)
            if self._armed_usec < 0 or usec < self._armed_usec:
                self._arm(usec)
        return timer

    def _usec(self, when):
        return int(when * 1e6) + self._clock_offset + 1

    def _arm(self, usec):
        self._armed_usec = usec
        self._wake_on_soon = usec != 0 and not self._dispatching
        self._source.set_ready_time(usec)

    def _rearm(self):
        """After running: the source's next ready time. Called on the
        loop's thread only."""
        if self._source is None:            # closed
            return
        if self._ready:
            usec = 0
        else:
            scheduled = self._scheduled
            while scheduled and scheduled[0]._cancelled:
                self._timer_cancelled_count -= 1
                heapq.heappop(scheduled)._scheduled = False
            usec = self._usec(scheduled[0]._when) if scheduled else -1
        if usec != self._armed_usec:
            self._armed_usec = usec
            self._source.set_ready_time(usec)
        self._wake_on_soon = usec != 0
        # Set first, look again: a call_soon_threadsafe() in between has
        # either been seen here or set the ready time to 0 after this did.
        if usec != 0 and self._ready:
            self._armed_usec = 0
            self._wake_on_soon = False
            self._source.set_ready_time(0)

    def _tether_dispatch(self, *unused):
        # GLib reset the ready time to -1 before calling this.
        self._armed_usec = -1
        self._wake_on_soon = False
        self._dispatching = True
        try:
            if getattr(_installed, 'loop', None) is not self:
                self._install()
            if self._selector._tags:
                self._process_events(self._selector.ready())
            self._run_rounds()
        except BaseException as exc:
            # Never let an exception reach GLib, which would drop the source.
            self.call_exception_handler({
                'message': 'Unexpected error in the asyncio loop of manager %r'
                           % self._tether_id,
                'exception': exc})
        finally:
            self._dispatching = False
            if not self._closed:
                self._rearm()
        return GLib.SOURCE_CONTINUE

    def _run_rounds(self):
        ready = self._ready
        ran = 0
        for _ in range(_MAX_ROUNDS):
            ran += self._run_round()
            if not ready or ran >= _MAX_CALLBACKS:
                break
            if self._closed:
                break

    def _run_round(self):
        """One round of BaseEventLoop._run_once after its select(): due
        timers join the ready queue, then what was ready runs."""
        scheduled = self._scheduled
        ready = self._ready
        if scheduled:
            sched_count = len(scheduled)
            if (sched_count > 100 and
                    self._timer_cancelled_count / sched_count > 0.5):
                live = []
                for handle in scheduled:
                    if handle._cancelled:
                        handle._scheduled = False
                    else:
                        live.append(handle)
                heapq.heapify(live)
                self._scheduled = scheduled = live
                self._timer_cancelled_count = 0
            end_time = self.time() + self._clock_resolution
            while scheduled:
                handle = scheduled[0]
                if handle._cancelled:
                    self._timer_cancelled_count -= 1
                    heapq.heappop(scheduled)._scheduled = False
                    continue
                if handle._when >= end_time:
                    break
                handle = heapq.heappop(scheduled)
                handle._scheduled = False
                ready.append(handle)
        ntodo = len(ready)
        if self._debug:
            self._run_debug(ntodo)
            return ntodo
        popleft = ready.popleft
        for _ in range(ntodo):
            handle = popleft()
            if not handle._cancelled:
                try:
                    handle._run()
                except (SystemExit, KeyboardInterrupt) as exc:
                    self._base_exception(handle, exc)
        return ntodo

    def _base_exception(self, handle, exc):
        """A callback raised SystemExit or KeyboardInterrupt, which asyncio
        lets through to whoever runs the loop. Here that is the manager, which
        goes on: a task keeps it as its outcome (and so does the work it is),
        anything else is reported."""
        if not isinstance(getattr(handle._callback, '__self__', None), asyncio.Task):
            self.call_exception_handler({
                'message': '%s raised in a callback on the asyncio loop of manager %r; '
                           'the manager goes on' % (type(exc).__name__, self._tether_id),
                'exception': exc, 'handle': handle})

    def _run_debug(self, ntodo):
        for _ in range(ntodo):
            handle = self._ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                t0 = self.time()
                try:
                    handle._run()
                except (SystemExit, KeyboardInterrupt) as exc:
                    self._base_exception(handle, exc)
                dt = self.time() - t0
                if dt >= self.slow_callback_duration:
                    asyncio.log.logger.warning('Executing %s took %.3f seconds',
                                               asyncio.base_events._format_handle(handle), dt)
            finally:
                self._current_handle = None

    def _run_now(self):
        """Runs what is ready at once, from work on the loop's thread:
        a coroutine submitted to the manager starts (and often ends) inside
        its work function, without another turn of the context."""
        if self._dispatching:
            return
        self._dispatching = True
        self._wake_on_soon = False
        try:
            self._run_rounds()
        finally:
            self._dispatching = False
            self._rearm()

    # The thread: installed as its running loop, released when it ends.

    def _install(self):
        self._thread_id = _get_ident()
        _set_running_loop(self)
        _installed.loop = self
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                               finalizer=self._asyncgen_finalizer_hook)
        self._set_coroutine_origin_tracking(self._debug)

    def _tether_exit(self):
        """On the manager's thread once its loop has quit: every
        submission has ended. Cancels what is left, lets it finish (up to
        EXIT_GRACE seconds), and closes the loop."""
        try:
            if _get_running_loop() is not self:
                self._install()
            self._finish_tasks()
        finally:
            self._tether_closing = True
            try:
                super().close()
            finally:
                source, self._source = self._source, None
                source.destroy()
                if _get_running_loop() is self:
                    _set_running_loop(None)
                    _installed.loop = None
                    sys.set_asyncgen_hooks(None, None)
                    self._set_coroutine_origin_tracking(False)
                self._thread_id = None

    def _drive(self, done, deadline):
        """Runs the loop on this thread until done() or the deadline."""
        context = self._tether_context
        while not done():
            now = _monotonic()
            if now >= deadline:
                return False
            if self._ready:
                self._run_now()
                continue
            # Wake by the deadline at the latest; the context runs the rest.
            limit = self._usec(deadline)
            if self._armed_usec < 0 or self._armed_usec > limit:
                self._arm(limit)
            context.iteration(True)
        return True

    def _finish_tasks(self):
        deadline = _monotonic() + EXIT_GRACE
        with self._foreign_lock:
            self._tether_exiting = True
        # What other threads added before that, and tasks made meanwhile
        # (by callbacks, or by cancelled tasks), are cancelled in turn.
        tasks = set()

        def settled():
            for task in asyncio.all_tasks(self):
                if task not in tasks:
                    tasks.add(task)
                    task.cancel()
            return not self._ready and all(t.done() for t in tasks)

        self._drive(settled, deadline)
        if self._asyncgens:
            closing = self.create_task(self.shutdown_asyncgens())
            self._drive(closing.done, deadline)
        for task in tasks:
            if not task.done():
                task._log_destroy_pending = False
                _log.warning('Task %r was still pending %.1f s after manager %r '
                             'stopped and cancelled it; it is abandoned',
                             task, EXIT_GRACE, self._tether_id)
            elif not task.cancelled() and task.exception() is not None:
                # Retrieved here so that asyncio does not log it at GC.
                _log.error('Task %r of manager %r raised', task, self._tether_id,
                           exc_info=task.exception())


# One loop per run of a manager's thread, found by thread (on the thread)
# or by context (anywhere).
_lock = threading.Lock()
_by_thread = {}
_by_context = {}


def _context_key(context):
    return hash(context)        # the GMainContext's address


def _loop_exit(entry):
    loop, key = entry
    with _lock:
        if _by_context.get(key) is loop:
            del _by_context[key]
        for ident, other in list(_by_thread.items()):
            if other is loop:
                del _by_thread[ident]
    loop._tether_exit()


def _new_loop(manager_id, context, add_exit_func):
    """Makes the loop of a manager's current run, on context; caller holds
    _lock. add_exit_func registers a function run as that run's thread
    exits."""
    key = _context_key(context)
    loop = _by_context.get(key)
    if loop is not None and not loop._closed and not loop._tether_closing:
        return loop
    loop = TetherEventLoop(manager_id, context)
    try:
        add_exit_func(_loop_exit, (loop, key))
    except BaseException:
        loop._tether_closing = True
        loop._source.destroy()
        loop._source = None
        asyncio.SelectorEventLoop.close(loop)
        raise
    _by_context[key] = loop
    return loop


def current_loop():
    """The loop of the manager whose thread this is, installed as the
    thread's running loop. Manager thread only, where the manager's context
    is the thread-default one. Found through the thread, not the manager
    object: work may run after the manager's last reference went, while its
    thread drains."""
    loop = _by_thread.get(_get_ident())
    if loop is None:
        Tether = get_introspection_module('Tether')
        with _lock:
            loop = _new_loop(Tether.LoopManager.dup_current_id(),
                             GLib.MainContext.ref_thread_default(),
                             Tether.LoopManager.add_current_exit_func)
            _by_thread[_get_ident()] = loop
    if _get_running_loop() is not loop:
        loop._install()
    return loop


def enter():
    """Before Python work runs on a manager's thread: its loop is the
    thread's running loop. Returns the loop."""
    loop = _by_thread.get(_get_ident())
    if loop is None or getattr(_installed, 'loop', None) is not loop:
        return current_loop()
    return loop


def get_asyncio_loop(manager):
    """Any thread: the manager's loop, made if needed."""
    if not manager.is_running():
        raise RuntimeError(
            'Manager %r is not running, so it has no asyncio loop; start it '
            'first (manager.start(task_type))' % manager.get_id())
    with _lock:
        try:
            loop = _new_loop(manager.get_id(), manager.get_context(),
                             manager.add_exit_func)
        except GLib.Error as error:
            raise RuntimeError(
                'Manager %r is stopping, so it has no asyncio loop any more: %s'
                % (manager.get_id(), error.message)) from None
    # Let the manager's thread install it before anything else runs.
    loop._write_to_self()
    return loop


# Coroutines as work.


_FAILED = int(_errors.Tether.Error.FAILED)


def _cancelled_error():
    return GLib.Error.new_literal(Gio.io_error_quark(), 'The coroutine was cancelled',
                                  _errors.IO_CANCELLED)


_connect = GObject.Object.connect
_disconnect = GObject.Object.disconnect


class _TaskWork:
    """Ties a Task to the Tether work it is: the work ends when the task
    does, and the work's cancellable cancels the task."""

    __slots__ = ('loop', 'task', 'work', 'outcome', 'cancellable', 'handler', 'finish',
                 'deferred')

    def __init__(self, loop, task, work, outcome, finish):
        self.loop = loop
        self.task = task
        self.work = work
        self.outcome = outcome
        self.finish = finish
        self.cancellable = None
        self.handler = 0
        # While its work function runs, the task's end is only noted, and
        # the work is ended last, as the function returns: ending it wakes
        # the waiter, which then wants the GIL this thread still holds.
        # None: ended while deferred; False: not deferred (any more).
        self.deferred = None

    def watch_cancel(self):
        """Once the task is suspended: the work's cancellable cancels it,
        and the loop keeps it (asyncio only keeps weak references to
        tasks). A task that ends in its first steps needs neither."""
        self.loop._tether_tasks.add(self.task)
        cancellable = self.work.get_cancellable()
        # GObject's connect: Gio.Cancellable.connect() is g_cancellable_connect().
        self.handler = _connect(cancellable, 'cancelled', self._on_cancelled)
        self.cancellable = cancellable
        if cancellable.is_cancelled():
            self.task.cancel()

    def _on_cancelled(self, cancellable):
        # Any thread: the one that cancelled, or stopped the manager.
        try:
            self.loop.call_soon_threadsafe(self.task.cancel)
        except RuntimeError:
            pass                # the loop is closed: the task has ended

    def done(self, task):
        if self.deferred:
            self.deferred = None
            return
        cancellable, self.cancellable = self.cancellable, None
        if cancellable is not None:
            self.loop._tether_tasks.discard(task)
            _disconnect(cancellable, self.handler)
        work, self.work = self.work, None
        try:
            if task.cancelled():
                work.return_error(_cancelled_error())
                return
            exc = task.exception()
            if exc is not None:
                self.outcome.exception = exc
                work.return_error(self.finish[1](exc))
            else:
                self.finish[0](work, task.result())
        except BaseException as failure:
            # The work must end whatever went wrong in handing its outcome
            # over, or its waiters and a DRAIN stop would wait for ever.
            if not work.is_done():
                work.return_error(GLib.Error.new_literal(
                    _errors.Tether.error_quark(), 'Handing over the outcome of %r failed: %r'
                    % (task, failure), _FAILED))
            raise


def run_task(loop, work, coro, outcome, finish):
    """On the manager's thread, inside work: runs coro as a Task on the
    manager's loop (from enter()); the work ends when the task does.

    The task's first steps run at once, inside the work function (as if
    the loop were dispatching), so a coroutine that does not wait for
    anything ends without another turn of the context."""
    if loop._dispatching:                   # work run by a nested iteration
        task = loop.create_task(coro)
        tie = _TaskWork(loop, task, work, outcome, finish)
        task.add_done_callback(tie.done)
        tie.watch_cancel()
        return
    tie = None
    loop._dispatching = True
    loop._wake_on_soon = False
    try:
        task = loop.create_task(coro)
        tie = _TaskWork(loop, task, work, outcome, finish)
        loop._run_round()
        if not task.done():
            tie.deferred = True
            task.add_done_callback(tie.done)
            loop._run_rounds()
            if tie.deferred:
                tie.deferred = False
                tie.watch_cancel()
    finally:
        loop._dispatching = False
        loop._rearm()
    if tie is not None and tie.deferred is not False:
        # Ended in its first steps: the work ends now, last.
        tie.deferred = False
        tie.done(tie.task)


def _log_post_task(task):
    task.get_loop()._tether_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.error('Fire-and-forget coroutine %r raised', task, exc_info=task.exception())


def run_post_task(loop, coro):
    if loop._dispatching:
        task = loop.create_task(coro)
        loop._tether_tasks.add(task)
        task.add_done_callback(_log_post_task)
        return
    loop._dispatching = True
    loop._wake_on_soon = False
    try:
        task = loop.create_task(coro)
        loop._tether_tasks.add(task)
        task.add_done_callback(_log_post_task)
        loop._run_rounds()
    finally:
        loop._dispatching = False
        loop._rearm()


class CoroutineWork:
    """A coroutine object submitted as work: it runs as a Task when the
    work starts, and is closed unrun if the work never starts, so that
    Python does not warn that it was never awaited."""

    __slots__ = ('coro', '__weakref__')

    def __init__(self, coro):
        self.coro = coro

    def take(self):
        coro, self.coro = self.coro, None
        if coro is None:
            raise RuntimeError('A coroutine object runs once; submit a new one')
        return coro

    def __call__(self, work=None):
        return self.take()

    def discard(self):
        coro, self.coro = self.coro, None
        if coro is not None:
            coro.close()

    __del__ = discard


def is_coroutine_function(func):
    code = getattr(func, '__code__', None)
    if code is not None:
        return bool(code.co_flags & 0x80)      # CO_COROUTINE
    return asyncio.iscoroutinefunction(func)


# asyncio.run() where Tether's loop runs: say what to do instead.

_asyncio_run = asyncio.run


def _run(main, *, debug=None):
    loop = _get_running_loop()
    if isinstance(loop, TetherEventLoop):
        if asyncio.iscoroutine(main):
            main.close()
        raise RuntimeError(
            'asyncio.run() cannot be called on the thread of Tether manager %r: '
            'its asyncio loop already runs there, for as long as the manager '
            'runs. Inside a coroutine, await the coroutine instead; in a plain '
            'work function, make the work itself async (an async def work '
            'function is run as a Task), or use asyncio.get_running_loop()'
            '.create_task(). From another thread, submit the coroutine to a '
            'manager and wait for its future.' % loop._tether_id)
    return _asyncio_run(main, debug=debug)


_run.__doc__ = _asyncio_run.__doc__
_run.__wrapped__ = _asyncio_run
asyncio.run = _run
asyncio.runners.run = _run
