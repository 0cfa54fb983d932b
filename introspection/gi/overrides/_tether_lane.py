# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fast lane: keyword ``submit(fn, ...)`` and ``post(fn, ...)``.

Every run of a manager's thread that is given keyword submissions gets one
lane: a deque of jobs and a lock. Submitting appends to the deque; no GLib
function is called per job, so neither PyGObject 3.42's per-call closure
leak nor a GIL hand-over per job applies. Only when the lane goes from idle
to busy does the submitter ring a doorbell: ``call_soon_threadsafe()`` on
the manager's asyncio loop (:mod:`._tether_asyncio`), whose source has no
prepare or check and wakes the context by its ready time. The manager's
thread then runs whole batches of jobs holding the GIL once, at most 4096
per dispatch of the loop's source, so C work and GLib sources on the
manager still get turns.

Accounting with C: when the lane opens (the first keyword submission of a
run) it takes one ``LoopManager.hold()`` for the run: a DRAIN stop waits for
it, a CANCEL stop fires its cancellable, ``stop_within()`` and
``wait_detached()`` see it. A stop closes the lane (``notify::running``,
emitted as a stop begins; the manager's GObject weak reference for a
manager dropped while running; the hold's cancellable for CANCEL): later
keyword submissions raise :class:`Tether.NotRunningError`; jobs already
accepted run (DRAIN) or end cancelled (CANCEL), and once the lane is empty
and its coroutines have ended, the hold is returned. Every accepted job
ends exactly once. ``stop_within()`` reports the lane's jobs that ended
after the lane closed in its ``n_ran`` / ``n_cancelled`` instead of the
hold (C's ``stop_within()``, and stops from other bindings, count the hold
as one job).

The lane never holds a strong reference to its manager: a manager's last
unref must still detach and drain.
"""

import asyncio
import collections
import concurrent.futures
import contextvars
import logging
import threading
import types
from concurrent.futures._base import (PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED,
                                      FINISHED)

from gi.module import get_introspection_module
from gi.repository import GLib, GObject

from . import _tether_asyncio as _aio
from . import _tether_callbacks as _callbacks
from . import _tether_errors as _errors

Tether = get_introspection_module('Tether')

_log = logging.getLogger('gi.overrides.Tether')

# Jobs one drain runs. A drain that leaves jobs queued schedules the next
# one with call_soon(): the loop's source runs at most _aio._MAX_ROUNDS
# rounds per dispatch, so at most _MAX_ROUNDS * _BATCH (4096) lane jobs run
# before GLib's other sources (the manager's C queue among them) get a turn.
_BATCH = 64

_get_ident = threading.get_ident
_copy_context = contextvars.copy_context
CoroutineType = types.CoroutineType
_CancelledErrors = _aio.CANCELLED_ERRORS
_connect = GObject.Object.connect


def _not_running(manager_id, call):
    return _errors.new(Tether.Error.NOT_RUNNING,
                       '%s: manager %r is not running or has begun to stop; start it '
                       '(manager.start()) or submit to another manager' % (call, manager_id))


class PythonFuture(concurrent.futures.Future):
    """The future of a keyword ``manager.submit(fn, ...)``.

    A :class:`concurrent.futures.Future` (``cf.wait``, ``as_completed``,
    ``asyncio.wrap_future`` accept it), set on the manager's thread. Done
    callbacks never run inside ``submit()`` or ``cancel()``; ``await
    future`` works on any asyncio loop, the manager's own included.
    ``result()`` on the manager's own thread for a job not yet done raises
    :class:`Tether.WouldDeadlockError` at once.
    """

    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self):
        super().__init__()
        self._tether_lane = None
        self._tether_cancellable = None
        self._tether_task = None

    def __repr__(self):
        return '<Tether.PythonFuture at 0x%x state=%s>' % (id(self), self._state)

    def cancel(self):
        """True if the job is now cancelled (it had not started: it never
        runs). A running job is not interrupted: False, and its cancellable
        (if it was submitted with one) is cancelled, as is its Task if it is
        a coroutine (the future then ends cancelled when the Task does)."""
        with self._condition:
            if self._state == RUNNING:
                cancellable = self._tether_cancellable
                task = self._tether_task
            elif self._state == PENDING:
                self._state = CANCELLED
                self._condition.notify_all()
                cancellable = task = None
            else:
                return self._state in (CANCELLED, CANCELLED_AND_NOTIFIED)
        if self._state == CANCELLED:
            # Outside the lock, as the base class does; our done callbacks
            # only hand over to their context, never run user code here.
            self._invoke_callbacks()
            return True
        if cancellable is not None:
            cancellable.cancel()
        if task is not None:
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass            # the loop has closed: the task has ended
        return False

    def add_done_callback(self, fn, *, context=None):
        """Calls ``fn(future)`` once done: at once in this thread if already
        done and ``context`` is None, else on the ``tether-callbacks``
        thread (``context`` None) or in ``context`` (a
        ``GLib.MainContext``, always, even if already done). Whatever
        ``fn`` raises is logged."""
        if not callable(fn):
            raise TypeError('add_done_callback(): fn must be callable, not %r' % (fn,))
        if context is not None and not isinstance(context, GLib.MainContext):
            raise TypeError('add_done_callback(): context must be a GLib.MainContext or '
                            'None, not %r' % (context,))

        def hand_over(future):
            _callbacks.invoke(context, _callbacks.run_logged, fn, future)

        with self._condition:
            if self._state not in (CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED):
                self._done_callbacks.append(hand_over)
                return
        if context is None:
            _callbacks.run_logged(fn, self)
        else:
            hand_over(self)

    def _tether_check_wait(self):
        lane = self._tether_lane
        if (lane is not None and not self.done()
                and _get_ident() in (lane.thread_id, lane.loop._thread_id)):
            raise _errors.new(Tether.Error.WOULD_DEADLOCK,
                              'PythonFuture.result() on the thread of manager %r would '
                              'deadlock: only this thread runs the job; await it, or '
                              'add_done_callback()' % lane.manager_id)
        _waits.check(self)

    def result(self, timeout=None):
        if self._state == FINISHED:
            return super().result(0)
        self._tether_check_wait()
        with _waits.waiting(self):
            return super().result(timeout)

    def exception(self, timeout=None):
        if self._state == FINISHED:
            return super().exception(0)
        self._tether_check_wait()
        with _waits.waiting(self):
            return super().exception(timeout)

    def __await__(self):
        if not self.done():
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()

            def wake(future, waiter=waiter):
                if not waiter.done():
                    waiter.set_result(None)

            def on_done(future):
                try:
                    loop.call_soon_threadsafe(wake, future)
                except RuntimeError:
                    pass        # the awaiting loop has closed

            # Straight on the base class: the hop to the callback thread is
            # not needed, call_soon_threadsafe() is safe from any thread.
            concurrent.futures.Future.add_done_callback(self, on_done)
            try:
                yield from waiter
            except asyncio.CancelledError:
                self.cancel()
                raise
        if self.cancelled():
            raise asyncio.CancelledError()
        return self.result(0)



class _Waits:
    """A wait graph over lane waits: which manager thread waits for a job of
    which manager. A wait that would close a cycle is refused."""

    def __init__(self):
        self._lock = threading.Lock()
        self._edges = {}        # waiting thread ident -> lane waited on

    def check(self, future):
        lane = future._tether_lane
        if lane is None:
            return
        me = _get_ident()
        with self._lock:
            seen = set()
            target = lane
            while target is not None and target.thread_id not in seen:
                if target.thread_id == me:
                    raise _errors.new(Tether.Error.WOULD_DEADLOCK,
                                      'PythonFuture.result() would deadlock: manager %r '
                                      'waits, through other managers, for this thread; '
                                      'nothing was waited for' % lane.manager_id)
                seen.add(target.thread_id)
                target = self._edges.get(target.thread_id)

    def waiting(self, future):
        return _Edge(self, future._tether_lane)


class _Edge:
    __slots__ = ('waits', 'lane', 'me')

    def __init__(self, waits, lane):
        self.waits = waits
        self.lane = lane
        self.me = None

    def __enter__(self):
        if self.lane is not None and _by_thread.get(_get_ident()) is not None:
            self.me = _get_ident()
            with self.waits._lock:
                self.waits._edges[self.me] = self.lane

    def __exit__(self, *exc):
        if self.me is not None:
            with self.waits._lock:
                self.waits._edges.pop(self.me, None)


_waits = _Waits()

# Manager threads that run a lane: thread ident -> lane.
_by_thread = {}


class _Lane:
    """One run of a manager's thread, as the keyword forms see it."""

    def __init__(self, manager_id, task_type, loop, hold, max_pending, submit_timeout):
        self.manager_id = manager_id
        self.task_type = task_type
        self.loop = loop
        self.hold = hold
        self.thread_id = None           # set as the first batch runs
        self.lock = threading.Lock()
        self.room = threading.Condition(self.lock)
        self.room_waiters = 0
        self.jobs = collections.deque()
        self.busy = False               # a drain is scheduled or running
        self.closed = False
        self.cancelling = False
        self.tasks = set()              # coroutine jobs still running
        self.max_pending = max_pending
        self.submit_timeout = submit_timeout
        self.hold_returned = False
        # Jobs ended, ran or cancelled; and those counts as the lane
        # closed, so that a stop can report the jobs it saw end.
        self.n_ran = 0
        self.n_cancelled = 0
        self.closed_counts = None
        # For dup_stats(): jobs accepted, and those of n_ran that failed.
        # n_failed has one writer, the manager's thread.
        self.n_submitted = 0
        self.n_failed = 0

    # Any thread.

    def push(self, job, call):
        with self.lock:
            if self.closed:
                raise _not_running(self.manager_id, call)
            if self.max_pending and len(self.jobs) >= self.max_pending:
                self._wait_for_room(call)
            self.jobs.append(job)
            self.n_submitted += 1
            if self.busy:
                return
            self.busy = True
        self._ring()

    def _wait_for_room(self, call):
        # Lock held. Never on the manager's own thread: only it makes room.
        timeout = self.submit_timeout
        if timeout != 0 and self.thread_id != _get_ident():
            self.room_waiters += 1
            try:
                self.room.wait_for(lambda: self.closed or len(self.jobs) < self.max_pending,
                                   None if timeout < 0 else timeout / 1e6)
            finally:
                self.room_waiters -= 1
            if self.closed:
                raise _not_running(self.manager_id, call)
        if len(self.jobs) >= self.max_pending:
            raise _errors.new(Tether.Error.BUSY,
                              '%s: manager %r has %d jobs queued (max-pending); nothing was '
                              'submitted. Retry later, raise max-pending, or set a '
                              'submit-timeout to wait for room'
                              % (call, self.manager_id, len(self.jobs)))

    def _ring(self):
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:
            # The loop is exiting, which it only does once the hold was
            # returned: the lane is closed and these jobs end cancelled.
            self.close()
            self._end_all_cancelled('the manager had stopped')

    def close(self):
        """A stop began: refuse from now on; run (or cancel) what is queued."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.closed_counts = (self.n_ran, self.n_cancelled)
            self.room.notify_all()
            ring = not self.busy
            self.busy = True
        if ring:
            self._ring()

    def cancel(self, *unused):
        """The hold's cancellable fired (a CANCEL stop): queued jobs end
        cancelled, running coroutines are cancelled."""
        with self.lock:
            self.cancelling = True
            tasks = list(self.tasks)
        self.close()
        self._end_all_cancelled('the manager was stopped in CANCEL mode')
        for task in tasks:
            try:
                self.loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass
        with self.lock:
            ring = not self.busy
            self.busy = True
        if ring:
            self._ring()

    def _end_all_cancelled(self, why):
        with self.lock:
            jobs = list(self.jobs)
            self.jobs.clear()
            self.n_cancelled += len(jobs)
            self.room.notify_all()
        for job in jobs:
            _end_cancelled(job, self.manager_id, why)

    # The manager's thread.

    def drain(self):
        if self.thread_id is None:
            self.thread_id = _get_ident()
            _by_thread[self.thread_id] = self
            _pin()
        jobs = self.jobs
        popleft = jobs.popleft
        ran = cancelled = 0
        while ran + cancelled < _BATCH:
            try:
                job = popleft()
            except IndexError:
                break
            if self.cancelling:
                _end_cancelled(job, self.manager_id, 'the manager was stopped in CANCEL mode')
                cancelled += 1
            else:
                outcome = self._run(job)
                if outcome:
                    ran += 1
                elif outcome is False:
                    cancelled += 1
        if self.room_waiters:
            with self.lock:
                self.room.notify_all()
        with self.lock:
            self.n_ran += ran
            self.n_cancelled += cancelled
            if jobs:
                more = True
            else:
                more = False
                self.busy = False
                done = self.closed and not self.tasks and not self.hold_returned
                if done:
                    self.hold_returned = True
        if more:
            self.loop.call_soon(self.drain)
        elif done:
            self._return_hold()

    def _return_hold(self):
        _by_thread.pop(self.thread_id, None)
        hold, self.hold = self.hold, None
        hold.return_boolean(True)

    def _run(self, job):
        """Runs a job; False if it ended cancelled. A coroutine job is
        counted as it ends (its Task's done callback)."""
        future, context, fn, args, kwargs = job
        if future is not None:
            if not future.set_running_or_notify_cancel():
                return False    # cancelled while queued: never runs
        try:
            value = context.run(fn, *args, **kwargs)
            if type(value) is CoroutineType:
                self._start_task(future, context, value)
                return None
        except _CancelledErrors:
            if future is None:
                _log.warning('Fire-and-forget work %r of manager %r ended cancelled',
                             fn, self.manager_id)
            else:
                _set_cancelled(future)
            return False
        except BaseException as exc:
            self.n_failed += 1
            if future is None:
                _log.error('Fire-and-forget work %r raised', fn, exc_info=exc)
            else:
                future.set_exception(exc)
            return True
        if future is not None:
            future.set_result(value)
        return True

    def _start_task(self, future, context, coro):
        task = self.loop.create_task(coro, context=context)
        if future is not None:
            future._tether_task = task
        with self.lock:
            self.tasks.add(task)
        task.add_done_callback(lambda task: self._task_done(task, future))

    def _task_done(self, task, future):
        ended_cancelled = task.cancelled() or isinstance(task.exception(), _CancelledErrors)
        with self.lock:
            self.tasks.discard(task)
            if ended_cancelled:
                self.n_cancelled += 1
            else:
                self.n_ran += 1
            done = (self.closed and not self.tasks and not self.jobs and not self.busy
                    and not self.hold_returned)
            if done:
                self.hold_returned = True
        if task.cancelled():
            if future is None:
                _log.warning('Fire-and-forget coroutine %r of manager %r ended cancelled',
                             task, self.manager_id)
            else:
                _set_cancelled(future)
        else:
            exc = task.exception()
            if exc is not None and not isinstance(exc, _CancelledErrors):
                self.n_failed += 1
            if exc is not None and isinstance(exc, _CancelledErrors):
                if future is not None:
                    _set_cancelled(future)
            elif future is None:
                if exc is not None:
                    _log.error('Fire-and-forget coroutine %r raised', task, exc_info=exc)
            elif exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(task.result())
        if done:
            self._return_hold()


def _set_cancelled(future):
    """A running future ends cancelled (the base class only cancels
    pending ones)."""
    with future._condition:
        if future._state in (CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED):
            return
        future._state = CANCELLED
        future._condition.notify_all()
    future._invoke_callbacks()


def _end_cancelled(job, manager_id, why):
    future, context, fn, args, kwargs = job
    if type(fn) is _CoroutineJob:
        fn.close()
    if future is None:
        _log.warning('Fire-and-forget work %r on manager %r ended cancelled unrun (%s)',
                     fn, manager_id, why)
    else:
        _set_cancelled(future)


class _CoroutineJob:
    """A coroutine object submitted as a job: run once, or closed unrun."""

    __slots__ = ('coro',)

    def __init__(self, coro):
        self.coro = coro

    def __call__(self):
        coro, self.coro = self.coro, None
        return coro

    def close(self):
        coro, self.coro = self.coro, None
        if coro is not None:
            coro.close()

    def __repr__(self):
        return repr(self.coro)


def register_manager(manager):
    """Set by Tether.py: makes the manager known to the drain at exit."""


def pin_thread_state():
    """Set by Tether.py: keeps the manager thread's Python thread state."""


def _pin():
    pin_thread_state()


class _Counts:
    """What ended lanes counted, for dup_stats()."""

    __slots__ = ('holds', 'submitted', 'ran', 'failed', 'cancelled')

    def __init__(self):
        self.holds = self.submitted = self.ran = self.failed = self.cancelled = 0

    def fold(self, lane):
        """Adds ``lane``'s counts if it can count nothing more (its hold
        returned, its jobs and tasks ended); True if it did."""
        with lane.lock:
            if not lane.hold_returned or lane.hold is not None or lane.jobs or lane.tasks:
                return False
            self.holds += 1
            self.submitted += lane.n_submitted
            self.ran += lane.n_ran
            self.failed += lane.n_failed
            self.cancelled += lane.n_cancelled
        return True


# One port per manager: its current lane, found by hash(manager) (the C
# object's address; the entry goes when the manager is disposed).
class _Port:
    __slots__ = ('lane', 'lock', 'weak', 'task_type', 'lanes', 'ended', 'n_rejected',
                 '__weakref__')

    def __init__(self):
        self.lane = None
        self.lock = threading.Lock()
        self.weak = None
        # For dup_stats(): the lanes that may still count something, and
        # the counts of those that ended (folded in as the next one opens,
        # so that a manager restarted many times keeps no lane per run).
        self.lanes = []
        self.ended = _Counts()
        self.n_rejected = 0


_ports = {}
_ports_lock = threading.Lock()


def _running_changed(manager, pspec, port):
    if not manager.is_running():
        lane = port.lane
        if lane is not None:
            lane.close()


def _limits_changed(manager, pspec, port):
    lane = port.lane
    if lane is not None:
        with lane.lock:
            lane.max_pending = manager.get_max_pending()
            lane.submit_timeout = manager.get_submit_timeout()
            lane.room.notify_all()


def _port_gone(key, ports=_ports):
    port = ports.pop(key, None)
    if port is not None and port.lane is not None:
        port.lane.close()


def _port(manager):
    key = hash(manager)
    port = _ports.get(key)
    if port is None:
        with _ports_lock:
            port = _ports.get(key)
            if port is None:
                port = _Port()
                # Connected once per manager; the handler is the manager's.
                manager.connect('notify::running', _running_changed, port)
                manager.connect('notify::max-pending', _limits_changed, port)
                manager.connect('notify::submit-timeout', _limits_changed, port)
                port.weak = manager.weak_ref(_port_gone, key)
                _ports[key] = port
                # Known to the drain at interpreter exit (Tether.py).
                register_manager(manager)
    return port


def _open(manager, port, call):
    with port.lock:
        lane = port.lane
        if lane is not None and not lane.closed:
            return lane
        try:
            loop = _aio.get_asyncio_loop(manager)
            hold = manager.hold()
        except (RuntimeError, GLib.Error):
            raise _not_running(manager.get_id(), call) from None
        lane = _Lane(manager.get_id(), manager.dup_task_type(), loop, hold,
                     manager.get_max_pending(), manager.get_submit_timeout())
        # A CANCEL stop fires it; once per run.
        _connect(hold.get_cancellable(), 'cancelled', lane.cancel)
        port.lane = lane
        port.lanes = [old for old in port.lanes if not port.ended.fold(old)]
        port.lanes.append(lane)
        if not manager.is_running():
            # A stop began between the hold and here, unseen by the handler.
            lane.close()
            raise _not_running(lane.manager_id, call)
        return lane


def _lane(manager, call):
    port = _ports.get(hash(manager))
    if port is None:
        port = _port(manager)
    lane = port.lane
    if lane is None or lane.closed:
        lane = _open(manager, port, call)
    return lane


def _job_func(call, fn, args, kwargs):
    if _aio.is_lone_coroutine(call, fn, args or kwargs):
        return _CoroutineJob(fn)
    if not callable(fn):
        raise TypeError('%s: fn must be callable, not %r' % (call, fn))
    return fn


def _check_type(lane, task_type, call):
    if lane.task_type is not None and task_type != lane.task_type:
        raise _errors.new(Tether.Error.UNKNOWN_TASK_TYPE,
                          '%s: manager %r only accepts task type %r, not %r; pass '
                          'task_type=%r' % (call, lane.manager_id, lane.task_type,
                                            task_type, lane.task_type))


def submit(manager, fn, args, kwargs, task_type=None, cancellable=None):
    fn = _job_func('submit()', fn, args, kwargs)
    try:
        lane = _lane(manager, 'submit()')
        if task_type is not None or lane.task_type is not None:
            _check_type(lane, task_type, 'submit()')
        future = PythonFuture()
        future._tether_lane = lane
        future._tether_cancellable = cancellable
        lane.push((future, _copy_context(), fn, args, kwargs), 'submit()')
    except BaseException as exc:
        _rejected(manager, exc)
        if type(fn) is _CoroutineJob:
            fn.close()
        raise
    return future


def post(manager, fn, args, kwargs, task_type=None):
    fn = _job_func('post()', fn, args, kwargs)
    try:
        lane = _lane(manager, 'post()')
        if task_type is not None or lane.task_type is not None:
            _check_type(lane, task_type, 'post()')
        lane.push((None, _copy_context(), fn, args, kwargs), 'post()')
    except BaseException as exc:
        _rejected(manager, exc)
        if type(fn) is _CoroutineJob:
            fn.close()
        raise


def _rejected(manager, exc):
    """Counts a submission refused for a reason C counts as rejected."""
    if isinstance(exc, _errors.TetherError):
        port = _ports.get(hash(manager))
        if port is not None:
            with port.lock:
                port.n_rejected += 1


# The C counters the lane's holds moved, and what the lane's jobs add.
def stats(manager, c_stats):
    """``dup_stats()`` with the keyword lane's jobs counted one by one, as
    C counts its own submissions, instead of as one hold per run."""
    port = _ports.get(hash(manager))
    if port is None:
        return c_stats
    with port.lock:
        lanes = list(port.lanes)
        ended = port.ended
        rejected = port.n_rejected
        holds, returned = ended.holds, ended.holds
        submitted, failed = ended.submitted, ended.failed
        ran, cancelled = ended.ran, ended.cancelled
    values = dict(c_stats)
    holds += len(lanes)
    returned += sum(1 for lane in lanes if lane.hold_returned and lane.hold is None)
    submitted += sum(lane.n_submitted for lane in lanes)
    failed += sum(lane.n_failed for lane in lanes)
    ran += sum(lane.n_ran for lane in lanes)
    cancelled += sum(lane.n_cancelled for lane in lanes)
    queued = sum(len(lane.jobs) for lane in lanes)
    waiting = sum(lane.room_waiters for lane in lanes)
    values['submitted'] = max(0, values.get('submitted', 0) - holds) + submitted
    values['completed'] = max(0, values.get('completed', 0) - returned) + ran - failed
    values['failed'] = values.get('failed', 0) + failed
    values['cancelled'] = values.get('cancelled', 0) + cancelled
    values['rejected'] = values.get('rejected', 0) + rejected
    values['queued'] = values.get('queued', 0) + queued
    values['waiting-for-room'] = values.get('waiting-for-room', 0) + waiting
    values['running'] = max(0, values.get('running', 0) - (holds - returned))
    return values


def n_queued(manager):
    """Keyword jobs queued on the manager's lane, not yet started."""
    port = _ports.get(hash(manager))
    lane = port.lane if port is not None else None
    return len(lane.jobs) if lane is not None else 0


def open_lane(manager):
    """The manager's lane if it is open, else None."""
    port = _ports.get(hash(manager))
    lane = port.lane if port is not None else None
    return lane if lane is not None and not lane.closed else None


def current_lane(manager):
    """The manager's latest lane, open or not, or None."""
    port = _ports.get(hash(manager))
    return port.lane if port is not None else None


def stop_counts(manager, before, lane, n_ran, n_cancelled):
    """The counts a stop reports, with the lane (``open_lane()`` as the stop
    began) counted by its jobs that ended after it closed instead of as its
    one hold, once the hold has ended. A lane that a submitter opened as the
    stop began (not ``before``, ``current_lane()`` then) is found after it:
    C counted its hold too."""
    if lane is None:
        after = current_lane(manager)
        if after is not before:
            lane = after
    if lane is None or not lane.hold_returned or lane.closed_counts is None:
        return n_ran, n_cancelled
    with lane.lock:
        ran = lane.n_ran - lane.closed_counts[0]
        cancelled = lane.n_cancelled - lane.closed_counts[1]
    return max(0, n_ran - 1) + ran, n_cancelled + cancelled
