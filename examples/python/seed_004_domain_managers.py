"""Seed 004: a loop manager per domain, with task-type protection.

The seed's module runs a task-type-guarded asyncio loop per domain, but its
stop() drops pending work (waiters hang), its registry is keyed by reusable,
never cleaned thread ids, and a blocking wait on the loop's thread deadlocks.

With Tether, start("render") admits only "render" work (else UNKNOWN_TASK_TYPE);
stop(DRAIN) ends every future; entries hang off lineage nodes, released once
their thread exits and no token holds them; that wait is WOULD_DEADLOCK.

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_004_domain_managers.py
"""
import time

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402


def open_domains():
    """One manager per domain, each admitting only its own task type."""
    managers = {}
    for domain in ('render', 'update'):
        managers[domain] = Tether.LoopManager.get_or_create(domain, Tether.LookupFlags.NONE)
        if not managers[domain].is_running():
            managers[domain].start(domain)
    return managers


def refused(manager, task_type):
    try:
        manager.submit(task_type, None, lambda work: 'misrouted')
    except GLib.Error as error:
        return error


def drain_everything(manager, count=6):
    """Queue slow work, stop(DRAIN) at once: every future still ends."""
    def item(work, i):
        time.sleep(0.02)
        return i
    futures = [manager.submit('update', None, item, i) for i in range(count)]
    manager.stop(Tether.StopMode.DRAIN)
    return futures


def wait_on_own_loop(manager):
    def work(work):
        try:
            manager.submit('render', None, lambda work: 'never').result(timeout=10)
        except GLib.Error as error:
            return error
    return manager.submit('render', None, work).result(timeout=10)


def addresses():
    return {e['thread-address'] for e in Tether.registry_snapshot().unpack()}


def thread_scoped_manager(keep_token=False):
    """A thread FORCE_CREATEs a manager, exits: its registry address (and token)."""
    box = {}

    def body():
        before = addresses()
        own = Tether.LoopManager.get_or_create('update', Tether.LookupFlags.FORCE_CREATE)
        own.start('update')
        (box['address'],) = addresses() - before
        box['token'] = Tether.Lineage.capture() if keep_token else None
    thread = Tether.Thread(target=body)
    thread.start()
    thread.join()
    return box['address'], box['token']


def registered_on(address, timeout=10):
    """Waits up to timeout s for the release: is anything still registered there?"""
    deadline = time.monotonic() + timeout
    while True:
        held = address in addresses()
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.01)


def main():
    managers = open_domains()
    try:
        frame = managers['render'].submit('render', None, lambda work: 'frame')
        print('render:', frame.result(timeout=10))
        for task_type in ('update', None):
            error = refused(managers['render'], task_type)
            print('submit(%r) to render:' % task_type, error.message)
        print('wait on own loop:', wait_on_own_loop(managers['render']).message)
        print('stop(DRAIN):', [f.result(timeout=10) for f in drain_everything(managers['update'])])
        address, _ = thread_scoped_manager()
        print("exited thread's manager still registered:", registered_on(address, timeout=10))
        address, token = thread_scoped_manager(keep_token=True)
        print('... with a token held:', registered_on(address, timeout=0.2))
        del token
        print('... token dropped:', registered_on(address, timeout=10))
    finally:
        for manager in managers.values():
            manager.stop(Tether.StopMode.DRAIN)
    for domain, manager in managers.items():
        print('stats of %s:' % domain,
              'submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
              'cancelled %(cancelled)d, rejected %(rejected)d' % manager.dup_stats().unpack())


if __name__ == '__main__':
    main()
