"""Seed 000: worker threads that have no event loop.

The failure: workers run in threads of their own (pytest-xdist style), where
asyncio raises "There is no current event loop in thread ...", so each worker
ends up building a private loop.

With Tether the main thread registers a manager per domain; workers find it
through their lineage: a Tether.Thread is a child of its starter, any other
thread adopts a captured token (`with token:`), and submit their `async def`
code to it. A thread outside the lineage gets MANAGER_NOT_FOUND; a worker
wanting isolation FORCE_CREATEs its own. On the manager's thread the seed's own
fixture code works as written: asyncio.get_event_loop() is the manager's loop.

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_000_worker_threads.py
"""
import asyncio
import concurrent.futures
import threading

import gi
gi.require_version('Tether', '1.0')
from gi.repository import Tether  # noqa: E402

DOMAIN = 'tests'


def run_in(thread_class, func, *args):
    """Runs func(*args) in a new thread; returns its outcome as a done Future."""
    outcome: concurrent.futures.Future[object] = concurrent.futures.Future()

    def target():
        try:
            outcome.set_result(func(*args))
        except BaseException as exc:
            outcome.set_exception(exc)
    thread = thread_class(target=target)
    thread.start()
    thread.join()
    return outcome


def register_domain():
    """Main thread: register the domain's manager and start it."""
    return Tether.LoopManager.get_or_start(DOMAIN)


async def square(x):                        # the async test body
    await asyncio.sleep(0)
    return x * x


def square_on_domain_loop(x):
    """What a worker does: find (never create) the domain's manager, use it."""
    manager = Tether.LoopManager.get_or_create(DOMAIN, strict=True)
    return manager.submit(square, x).result(timeout=10)


def ensure_event_loop():
    """The seed's fixture, unchanged, run on the manager's thread: it finds
    the running loop there instead of making one of its own."""
    loop = asyncio.get_event_loop()
    if loop.is_closed():
        raise RuntimeError("Loop is closed")
    return loop.is_running() and loop is asyncio.get_running_loop()


def pool_workers(count):
    token = Tether.Lineage.capture()              # taken by the submitting thread

    def job(x):
        with token:                               # act on behalf of the submitter
            return square_on_domain_loop(x)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(job, range(count)))


def isolated_worker():
    """A Tether.Thread with a manager of its own: (inherited's thread, own's)."""
    def native_id():
        return threading.get_native_id()

    def body():
        inherited = Tether.LoopManager.get_or_create(DOMAIN, strict=True)
        own = Tether.LoopManager.get_or_create(DOMAIN, force_create=True)
        own.start()
        try:                                      # strict=True now finds its own one
            found = Tether.LoopManager.get_or_create(DOMAIN, strict=True)
            return (inherited.submit(native_id).result(timeout=10),
                    found.submit(native_id).result(timeout=10))
        finally:
            own.stop()
    return run_in(Tether.Thread, body).result()


def main():
    print('asyncio, worker thread:', run_in(threading.Thread, asyncio.get_event_loop).exception())
    manager = register_domain()
    try:
        print('the seed\'s fixture on the manager\'s thread:',
              manager.submit(ensure_event_loop).result(timeout=10))
        print('Tether.Thread workers:',
              [run_in(Tether.Thread, square_on_domain_loop, i).result() for i in range(4)])
        print('ThreadPoolExecutor workers:', pool_workers(8))
        error = run_in(threading.Thread, square_on_domain_loop, 3).exception()
        print('plain thread, no token:', error.message)
        print('isolated worker: inherited manager on thread %d, its own on %d' % isolated_worker())
    finally:
        manager.stop()
    print('stats: submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
          'cancelled %(cancelled)d, rejected %(rejected)d' % manager.dup_stats().unpack())


if __name__ == '__main__':
    main()
