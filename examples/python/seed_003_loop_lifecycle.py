"""Seed 003: an event loop's lifecycle, without the loop handling.

The failure: the asyncio tutorial's lifecycle (call_soon, call_later, call_at,
tasks, stop, close, debug) is a list of things to get right by hand: which
thread may touch the loop, cancelling pending tasks before closing, a loop that
cannot run again once closed.

With Tether: submit/post is call soon, submit_after/submit_at are call later and
call at, every submission is a future. stop(DRAIN) runs queued work, stop(CANCEL)
ends it cancelled; timers not yet due end cancelled; future.cancel() removes one;
a stopped manager starts again. There is no debug mode yet: the registry
snapshot and the futures' statuses show the state.

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_003_loop_lifecycle.py
"""
import threading
import time

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402


def now(work):
    return GLib.get_monotonic_time()


def schedule(manager):
    """Call soon, later, at: {name: (future, the earliest time it may run)}."""
    log = []
    manager.post(None, log.append, 'posted')                    # fire-and-forget
    t = GLib.get_monotonic_time()
    return {'soon': (manager.submit(None, None, lambda work: list(log)), t),
            'later': (manager.submit_after(None, 50_000, None, now), t + 50_000),
            'at': (manager.submit_at(None, t + 80_000, None, now), t + 80_000)}


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
    """There is no debug mode yet: the registry and futures show the state."""
    return ['%(id)s running=%(running)s on %(thread)s' % e
            for e in Tether.registry_snapshot().unpack() if e['id'] == manager_id]


def statuses(futures):
    return [f.get_status().value_nick for f in futures]


def main():
    manager = Tether.LoopManager.get_or_create('sched', Tether.LookupFlags.NONE)
    manager.start(None)
    futures = schedule(manager)
    print('soon:', futures['soon'][0].result(timeout=10))
    for name in ('later', 'at'):
        future, due = futures[name]
        print('%s: ran %d us after it was due' % (name, future.result(timeout=10) - due))
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


if __name__ == '__main__':
    main()
