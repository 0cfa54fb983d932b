"""Seed 003: an event loop's lifecycle, without the loop handling.

The failure: the asyncio tutorial's lifecycle (call_soon, call_later, call_at,
tasks, stop, close, debug) is a list of things to get right by hand: which
thread may touch the loop, cancelling pending tasks before closing, a loop that
cannot run again once closed.

With Tether: submit/post is call soon, submit_after/submit_at are call later and
call at, every submission is a future. stop(DRAIN) runs queued work, stop(CANCEL)
ends it cancelled; timers not yet due end cancelled; future.cancel() removes one;
a stopped manager starts again. The registry snapshot and the futures' statuses
show the state, dup_stats() counts every outcome, and the debug mode reports
what asyncio's does: slow callbacks, exceptions nobody retrieved, and work
destroyed while pending (set the manager's debug-flags, or TETHER_DEBUG=all
for every manager of the process). Unclosed loops have no counterpart:
dropping the last reference to a manager stops it, draining its queue.

The tutorial's loop methods (call_soon, call_later, call_at, create_task,
time) work as written on the manager's own asyncio loop, inside async work;
running, stopping or closing that loop is Tether's job and refused.

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_003_loop_lifecycle.py
"""
import asyncio
import threading
import time

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402


def now(work):
    return GLib.get_monotonic_time()


def schedule(manager):
    """Call soon, later, at: {name: (future, the earliest time it may run)}."""
    log: list[str] = []
    manager.post(None, log.append, 'posted')                    # fire-and-forget
    t = GLib.get_monotonic_time()
    return {'soon': (manager.submit(None, None, lambda work: list(log)), t),
            'later': (manager.submit_after(None, 50_000, None, now), t + 50_000),
            'at': (manager.submit_at(None, t + 80_000, None, now), t + 80_000)}


async def tutorial(work):
    """The tutorial's loop methods on the manager's loop, as written."""
    loop = asyncio.get_running_loop()
    seen = []
    loop.call_soon(lambda: seen.append("Running soon"))
    loop.call_later(0.02, lambda: seen.append("Running after 0.02s"))
    now = loop.time()
    loop.call_at(now + 0.01, lambda: seen.append("Running at specified time"))

    async def my_coroutine():
        seen.append("Task ran")
    task = loop.create_task(my_coroutine())
    await task
    await asyncio.sleep(0.03)
    try:
        loop.close()
    except RuntimeError:
        seen.append("close() refused")
    return seen


def stop_with_queue(manager, mode, queued=3):
    """Keeps the loop busy, queues work and a far timer, stops in mode; returns
    (the busy work's future, the queued futures, the timer's future)."""
    busy = threading.Event()
    # DRAIN lets the busy work finish; CANCEL fires its cancellable, so it
    # holds the loop until then (10 s at most) and the queue is still queued.
    hold_for = 0.2 if mode == Tether.StopMode.DRAIN else 10

    def hold(work):
        busy.set()
        deadline = time.monotonic() + hold_for
        while time.monotonic() < deadline and not work.is_cancelled():
            time.sleep(0.005)
        return 'saw cancel' if work.is_cancelled() else 'finished'
    first = manager.submit(None, None, hold)
    busy.wait(10)
    futures = [manager.submit(None, None, lambda work, i: i, i) for i in range(queued)]
    timer = manager.submit_after(None, 60 * 1_000_000, None, now)
    manager.stop(mode)
    return first, futures, timer


def snapshot(manager_id):
    """The registry's view of a manager."""
    return ['%(id)s running=%(running)s on %(thread)s' % e
            for e in Tether.registry_snapshot().unpack() if e['id'] == manager_id]


def statuses(futures):
    return [f.get_status().value_nick for f in futures]


def counts(stats):
    """The outcome counters of dup_stats().unpack(), a dict that also holds
    queue depths and latency percentiles."""
    return ('submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
            'cancelled %(cancelled)d, rejected %(rejected)d' % stats)


# asyncio's loop.slow_callback_duration is 100 ms, as is Tether's default
# slow-threshold; a shorter one keeps the demo quick.
SLOW_USEC = 20_000


def blocking_callback(work):
    """What asyncio's debug mode calls a slow callback: it holds the loop."""
    time.sleep(3 * SLOW_USEC / 1e6)
    return 'done, late'


def never_retrieved(work):
    raise ValueError('nobody asked for this result')


def debug_mode():
    """asyncio's debug mode logs "Executing <Handle ...> took 0.3 seconds",
    "Task exception was never retrieved" and "Task was destroyed but it is
    pending!". A manager's debug-flags report the same three as GLib warnings
    on stderr that name the manager and, for work that ran, the Python
    function (the task type is in their TETHER_TASK_TYPE field). Returns the
    manager's dup_stats()."""
    manager = Tether.LoopManager.new('sched-debug')
    manager.props.debug_flags = (Tether.DebugFlags.SLOW | Tether.DebugFlags.UNRETRIEVED
                                 | Tether.DebugFlags.DROPPED)
    manager.props.slow_threshold = SLOW_USEC
    manager.start(None)
    manager.submit(None, None, blocking_callback).result(timeout=10)
    unread = manager.submit(None, None, never_retrieved)
    deadline = time.monotonic() + 10
    while not unread.done() and time.monotonic() < deadline:   # done() reads nothing
        time.sleep(0.001)
    del unread                                # reported as the future goes
    stop_with_queue(manager, Tether.StopMode.CANCEL, queued=2)  # dropped: 2 and the timer
    return manager.dup_stats().unpack()


def main():
    manager = Tether.LoopManager.get_or_create('sched', Tether.LookupFlags.NONE)
    manager.start(None)
    futures = schedule(manager)
    print('soon:', futures['soon'][0].result(timeout=10))
    for name in ('later', 'at'):
        future, due = futures[name]
        print('%s: ran %d us after it was due' % (name, future.result(timeout=10) - due))
    print('loop methods:', manager.submit(None, None, tutorial).result(timeout=10))
    timer = manager.submit_after(None, 60 * 1_000_000, None, now)
    timer.cancel()
    print('a cancelled timer:', timer, '- registry:', snapshot('sched'))
    for mode in (Tether.StopMode.DRAIN, Tether.StopMode.CANCEL):
        first, queued, timer = stop_with_queue(manager, mode)
        print('stop(%s): busy work %s; queued %s; timer %s; registry %s' % (
            mode.value_nick, first.result(timeout=10), statuses(queued),
            statuses([timer]), snapshot('sched')))
        manager.start(None)                   # a stopped manager starts again
        print('  restarted:', manager.submit(None, None, lambda work: 'ok').result(timeout=10))
    manager.stop(Tether.StopMode.DRAIN)
    print('stats:', counts(manager.dup_stats().unpack()))    # counters survive restarts
    stats = debug_mode()
    print('debug mode, reports on stderr; stats:', counts(stats))


if __name__ == '__main__':
    main()
