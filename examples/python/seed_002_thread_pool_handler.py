"""Seed 002: a sync handler in a thread pool needs the loop of another thread.

The failure: a server runs sync handlers in a thread pool; the loop lives on
another thread, so asking for the running loop in a handler raises "no running
event loop", and the fix is a global that stashes the loop at startup.

With Tether the main thread registers the app's manager once. Each job gets a
lineage token captured at submission; the handler adopts it (`with token:`),
finds the manager with STRICT (no globals, never a second loop), submits its
async function, and blocks on the result. The work runs on the manager's
thread, not the handler's. The seed's own code also works unchanged against
the manager's asyncio loop (manager.get_asyncio_loop() instead of the global):
asyncio.run_coroutine_threadsafe(asyncio.to_thread(...), loop).result().

Run from the repository root, after `bash .ci/build`:

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src \\
    PYTHONPATH=introspection /usr/bin/python3 examples/python/seed_002_thread_pool_handler.py
"""
import asyncio
import concurrent.futures
import threading
import time

import gi
gi.require_version('Tether', '1.0')
from gi.repository import Tether  # noqa: E402

DOMAIN = 'api'


def start_app():
    """Main thread, at startup: register and start the app's manager."""
    return Tether.LoopManager.get_or_start(DOMAIN)


def thread_name(native_id):
    """The OS name of a thread of this process (Python calls foreign threads 'Dummy-N')."""
    with open('/proc/self/task/%d/comm' % native_id) as comm:
        return comm.read().strip()


async def lookup(request):              # runs on the manager's thread
    await asyncio.sleep(0)
    return {'answer': request * 2, 'thread': threading.get_native_id()}


def blocking_operation(seconds):
    time.sleep(seconds)
    return threading.get_native_id()


def sync_with_async_pattern(token, seconds=0.01):
    """The seed's handler, with the manager's loop instead of a stored global."""
    with token:
        manager = Tether.LoopManager.get_or_create(DOMAIN, strict=True)
    loop = manager.get_asyncio_loop()
    blocking_coro = asyncio.to_thread(blocking_operation, seconds)
    future = asyncio.run_coroutine_threadsafe(blocking_coro, loop)
    return {'blocking_thread': future.result(timeout=10),
            'handler_thread': threading.get_native_id()}


def handler(token, request):                  # runs in a pool thread
    with token:
        manager = Tether.LoopManager.get_or_create(DOMAIN, strict=True)
    reply = manager.submit(lookup, request).result(timeout=10)
    return dict(reply, request=request, handler_thread=threading.get_native_id())


def serve(requests, workers=8):
    """Dispatches each request to the pool, with a token captured at submission."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(handler, Tether.Lineage.capture(), r) for r in requests]
        return [job.result() for job in jobs]


def asyncio_in_handler():
    """The seed's failure: a pool thread has no running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.get_running_loop).exception()


def main():
    print('asyncio in a pool handler:', asyncio_in_handler())
    manager = start_app()
    try:
        replies = serve(range(32))
        work_threads = {reply['thread'] for reply in replies}
        handler_threads = {reply['handler_thread'] for reply in replies}
        print('answers correct:', all(r['answer'] == 2 * r['request'] for r in replies))
        print('handler threads:', len(handler_threads),
              '- work ran on:', [thread_name(t) for t in work_threads])
        print('work never ran on a handler thread:', not work_threads & handler_threads)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            reply = pool.submit(sync_with_async_pattern, Tether.Lineage.capture()).result()
        print("the seed's run_coroutine_threadsafe(to_thread) pattern: blocked in another thread:",
              reply['blocking_thread'] != reply['handler_thread'])
    finally:
        manager.stop(Tether.StopMode.DRAIN)
    print('stats: submitted %(submitted)d, completed %(completed)d, failed %(failed)d, '
          'cancelled %(cancelled)d, rejected %(rejected)d' % manager.dup_stats().unpack())


if __name__ == '__main__':
    main()
