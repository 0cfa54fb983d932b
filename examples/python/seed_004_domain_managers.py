"""Seed 004: a loop manager per domain, with task-type protection.

The seed (Duck's AsyncioLoopManager) runs a task-type-guarded asyncio loop per
domain and lets synchronous code submit coroutines to it, but its stop() drops
pending work (waiters hang), its registry is keyed by reusable, never cleaned
thread ids, and a blocking wait on the loop's thread deadlocks.

With Tether the seed's "Typical Usage" reads line for line the same (worker()
below): get or create the domain's manager, start it with a task type, submit
a coroutine with that task type, block on the result. start("render") admits
only "render" work (else UNKNOWN_TASK_TYPE); stop(DRAIN) ends every future;
entries hang off lineage nodes, released once their thread exits and no token
holds them; that wait is WOULD_DEADLOCK.

The seed module's other calls, in Tether:

    get_or_create_loop_manager(id, strictly_get=True)  LoopManager.get_or_create(id, strict=True)
    get_or_create_loop_manager(id, force_create=True)  LoopManager.get_or_create(id, force_create=True)
    loop_mgr.get_event_loop()                          loop_mgr.get_asyncio_loop()
    loop_mgr.stop()                                    loop_mgr.stop()  (drains)
    except ManagerNotFound                             except Tether.ManagerNotFoundError
    except UnknownAsyncTaskError                       except Tether.UnknownTaskTypeError

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_004_domain_managers.py
"""
import asyncio
import time

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402


async def some_async_function():
    await asyncio.sleep(0.01)
    return 'rendered on %s' % getattr(asyncio.get_running_loop(), '_tether_id')


# The seed's Typical Usage, line for line.
def worker():
    # get_or_start(): get or create, and start it if it is not running, as
    # one step that racing threads agree on (Duck's get-then-start is a race).
    loop_mgr = Tether.LoopManager.get_or_start(id="component", task_type="render")
    # Submit coroutine and block for result
    value = loop_mgr.submit(
        some_async_function(),
        task_type="render",
    )
    value = value.result()
    return value


def duck_calls():
    """The seed module's other calls, with their Tether equivalents."""
    strictly = Tether.LoopManager.get_or_create('component', strict=True)
    loop = strictly.get_asyncio_loop()                    # get_event_loop()
    value = asyncio.run_coroutine_threadsafe(some_async_function(), loop).result(timeout=10)
    try:
        Tether.LoopManager.get_or_create('nowhere', strict=True)
    except Tether.ManagerNotFoundError as error:          # ManagerNotFound
        not_found = error
    strictly.stop()                                       # stop(): drains
    return value, not_found, loop.is_closed()


def open_domains():
    """One manager per domain, each admitting only its own task type."""
    managers = {}
    for domain in ('render', 'update'):
        managers[domain] = Tether.LoopManager.get_or_start(domain, task_type=domain)
    return managers


async def misrouted():
    return 'misrouted'


def refused(manager, task_type):
    try:
        manager.submit(misrouted(), task_type=task_type).result(timeout=10)
    except GLib.Error as error:      # Tether.UnknownTaskTypeError, NotRunningError...
        return error


def drain_everything(manager, count=6):
    """Queue slow work, stop(DRAIN) at once: every future still ends."""
    async def item(i):
        await asyncio.sleep(0.02)
        return i
    futures = [manager.submit(item, i, task_type='update') for i in range(count)]
    manager.stop()
    return futures


def wait_on_own_loop(manager):
    def work():
        try:
            manager.submit(lambda: 'never', task_type='render').result(timeout=10)
        except Tether.WouldDeadlockError as error:
            return error
    return manager.submit(work, task_type='render').result(timeout=10)


def addresses():
    return {e['thread-address'] for e in Tether.registry_snapshot().unpack()}


def thread_scoped_manager(keep_token=False):
    """A thread FORCE_CREATEs a manager, exits: its registry address (and token)."""
    box = {}

    def body():
        before = addresses()
        own = Tether.LoopManager.get_or_create('update', force_create=True)
        own.start(task_type='update')
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
    print('typical usage:', worker())
    value, not_found, closed = duck_calls()
    print('run_coroutine_threadsafe on its loop:', value)
    print('strictly_get of an unknown id:', not_found.message)
    print('stopped, its asyncio loop is closed:', closed)
    managers = open_domains()
    try:
        frame = managers['render'].submit(some_async_function(), task_type='render')
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
            manager.stop()
    for domain, manager in managers.items():
        print('stats of %s:' % domain,
              'submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
              'cancelled %(cancelled)d, rejected %(rejected)d' % manager.dup_stats().unpack())


if __name__ == '__main__':
    main()
