"""Seed 001: a sync wrapper called from inside a running loop.

The failure: a sync wrapper runs async code with asyncio.run(); called inside
a running loop (a web UI handler) it raises "asyncio.run() cannot be called
from a running event loop", patched with nested loops or a thread per call.

With Tether the async function runs on a manager and the wrapper blocks on
future.result(): from another thread it returns; from work on the manager's
own thread it fails at once with WOULD_DEADLOCK, and asyncio.run() there says
to await instead. Async work awaits (the seed's Solution 1); plain work chains
with add_done_callback or returns Tether.DEFERRED. A coroutine on any loop
awaits the future, or calls the wrapper, blocking its loop briefly.

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_001_sync_wrapper.py
"""
import asyncio
import concurrent.futures

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402


async def fetch(text):                 # the async function: runs on the loop
    await asyncio.sleep(0)
    return text.upper()


def fetch_sync(manager, text):               # the sync wrapper
    return manager.submit(fetch, text).result(timeout=10)


def wrapper_on_loop_thread(manager):
    """Work on the manager's thread calls the wrapper: an error, not a hang."""
    def work():
        try:
            return fetch_sync(manager, 'never')
        except Tether.WouldDeadlockError as error:
            return error
    return manager.submit(work).result(timeout=10)


def wrapper_from_other_thread(manager):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fetch_sync, manager, 'from a thread').result()


def asyncio_run_in_work(manager):
    """The seed's sync_wrapper, asyncio.run() and all, called on the loop."""
    def sync_wrapper(text):
        try:
            return asyncio.run(fetch(text))
        except RuntimeError as error:
            return error
    return manager.submit(sync_wrapper, 'never').result(timeout=10)


def awaited_in_work(manager):
    """The seed's Solution 1: async work awaits instead of asyncio.run()."""
    async def async_wrapper(text):
        return await manager.submit(fetch, text) + '!'
    return manager.submit(async_wrapper, 'awaited in work').result(timeout=10)


def chained_in_work(manager):
    """Plain work needing another result chains instead of blocking. It
    needs its Work handle to finish later: the C-order form passes it."""
    def work(work):
        inner = manager.submit(fetch, 'chained')
        inner.add_done_callback(lambda f: work.return_string(f.result() + '!'))
        return Tether.DEFERRED
    return manager.submit(None, None, work).result(timeout=10)


def deferred_in_work(manager):
    """Work that finishes later from a source on its own loop (C-order form:
    it gets the Work handle)."""
    def work(work):
        def finish(*_):
            work.return_string('deferred')
            return GLib.SOURCE_REMOVE
        source = GLib.timeout_source_new(10)
        source.set_callback(finish)
        source.attach(GLib.MainContext.get_thread_default())   # the manager's context
        return Tether.DEFERRED
    return manager.submit(None, None, work).result(timeout=10)


async def awaited(manager):
    return await manager.submit(fetch, 'awaited')


async def wrapper_in_coroutine(manager):
    return fetch_sync(manager, 'called in a running loop')   # blocks this loop briefly


async def asyncio_run_in_coroutine():               # the seed's failure
    coroutine = asyncio.sleep(0)
    try:
        asyncio.run(coroutine)
    except RuntimeError as error:
        coroutine.close()
        return error


def main():
    manager = Tether.LoopManager.new('app')
    manager.start(None)
    try:
        print('asyncio.run() in a coroutine:', asyncio.run(asyncio_run_in_coroutine()))
        print('wrapper on the loop thread:', wrapper_on_loop_thread(manager).message)
        print('asyncio.run() in work:', asyncio_run_in_work(manager))
        print('awaited in async work:', awaited_in_work(manager))
        print('wrapper from another thread:', wrapper_from_other_thread(manager))
        print('chained in work:', chained_in_work(manager))
        print('deferred in work:', deferred_in_work(manager))
        print('awaited in a coroutine:', asyncio.run(awaited(manager)))
        print('wrapper in a coroutine:', asyncio.run(wrapper_in_coroutine(manager)))
    finally:
        manager.stop(Tether.StopMode.DRAIN)
    print('stats: submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
          'cancelled %(cancelled)d, rejected %(rejected)d' % manager.dup_stats().unpack())


if __name__ == '__main__':
    main()
