# SPDX-License-Identifier: LGPL-2.1-or-later
"""Each form of the Pythonic API, as a typed program would use it: checked by
mypy --strict (tests/types/check-types.py), never run. assert_type() pins
what mypy must infer, so a stub that loosens a type fails the check too."""

import asyncio
import concurrent.futures
import contextvars
from typing import Any, assert_type

import gi
gi.require_version('Tether', '1.0')
from gi.repository import Gio, GLib, Tether  # noqa: E402

request_id: contextvars.ContextVar[str] = contextvars.ContextVar('request_id')


def add(a: int, b: int, *, scale: int = 1) -> int:
    return (a + b) * scale


async def fetch(n: int) -> str:
    await asyncio.sleep(0)
    return str(n)


def c_order_work(work: Tether.Work, n: int) -> int:
    """C-order work: func(work, *func_data)."""
    assert_type(work.get_cancellable(), Gio.Cancellable)
    if work.is_cancelled():
        work.return_int(-1)
    return n


def registry() -> Tether.LoopManager:
    assert_type(Tether.LoopManager.get_or_create(), Tether.LoopManager)
    Tether.LoopManager.get_or_create('a', Tether.LookupFlags.STRICT | Tether.LookupFlags.FORCE_CREATE)
    Tether.LoopManager.get_or_create(id='a', force_create=True)
    Tether.LoopManager.get_or_create('a', strict=True)
    manager = Tether.LoopManager.get_or_start('render', task_type='render')
    assert_type(manager, Tether.LoopManager)
    assert_type(manager.start(task_type='render'), bool)
    assert_type(manager.get_id(), str)
    assert_type(manager.is_running(), bool)
    assert_type(manager.props.running, bool)
    assert_type(manager.props.debug_flags, Tether.DebugFlags)
    assert_type(manager.dup_stats(), GLib.Variant)
    assert_type(Tether.LoopManager.ref_current(), Tether.LoopManager | None)
    assert_type(manager.get_asyncio_loop(), asyncio.AbstractEventLoop)
    return manager


def keyword_forms(manager: Tether.LoopManager, cancellable: Gio.Cancellable) -> None:
    future = manager.submit(add, 1, 2, scale=3, task_type='render', cancellable=cancellable)
    assert_type(future, Tether.PythonFuture[int])
    assert_type(future.result(timeout=5), int)
    assert_type(future.exception(), BaseException | None)
    assert_type(future.running(), bool)
    assert_type(future.cancel(), bool)
    assert isinstance(future, concurrent.futures.Future)

    assert_type(manager.submit(fetch, 1), Tether.PythonFuture[str])
    assert_type(manager.submit(fetch(2), task_type='render'), Tether.PythonFuture[str])
    assert_type(manager.submit(lambda: None), Tether.PythonFuture[None])
    assert_type(manager.submit(request_id.get), Tether.PythonFuture[str])

    assert_type(manager.call(add, 1, 2, scale=3, task_type='render', cancellable=cancellable), int)
    assert_type(manager.call(fetch, 5), str)
    assert_type(manager.call(fetch(6), task_type='render'), str)
    assert_type(manager.call(lambda: None), None)

    assert_type(manager.post(print, 'posted', task_type='render', end=''), None)
    assert_type(manager.post(fetch, 3), None)

    later = manager.submit_after(1000, add, 1, 2, scale=2)
    assert_type(later, Tether.Future[int])
    assert_type(later.result(), int)
    at = manager.submit_at(GLib.get_monotonic_time(), fetch, 4, cancellable=cancellable)
    assert_type(at, Tether.Future[str])

    done, _ = concurrent.futures.wait([future, later], timeout=5)
    assert_type(done, set[concurrent.futures.Future[int]])
    for f in concurrent.futures.as_completed([future, later], timeout=5):
        assert_type(f.result(), int)

    def on_done(f: Tether.PythonFuture[int]) -> None:
        print(f.result())
    future.add_done_callback(on_done)
    future.add_done_callback(on_done, context=GLib.MainContext.default())
    later.add_done_callback(lambda f: print(f.result() + 1), context=None)


async def awaiting(manager: Tether.LoopManager) -> int:
    value = await manager.submit(add, 20, 22)
    assert_type(value, int)
    text = await manager.submit_after(0, fetch, 5)
    assert_type(text, str)
    wrapped = asyncio.wrap_future(manager.submit(add, 1, 1))
    assert_type(await wrapped, int)
    return value


def c_order_forms(manager: Tether.LoopManager) -> None:
    future = manager.submit(None, None, c_order_work, 1)
    assert_type(future, Tether.Future[Any])
    assert_type(future.get_status(), Tether.FutureStatus)
    assert_type(future.wait(1000), bool)
    assert_type(manager.submit('render', None, fetch(1)), Tether.Future[Any])
    assert_type(manager.submit(task_type='render', func=fetch(1)), Tether.Future[Any])
    assert_type(manager.post(None, print, 'posted'), bool)
    assert_type(manager.submit_after(None, 1000, None, c_order_work, 2), Tether.Future[Any])
    assert_type(manager.submit_at(None, 0, None, c_order_work, 3), Tether.Future[Any])

    def ready(source: Tether.LoopManager, result: Gio.AsyncResult, tag: str) -> None:
        assert_type(source.submit_finish(result), tuple[bool, Any])
    manager.submit_async(None, c_order_work, (4,), None, ready, 'tag')


def lifecycle(manager: Tether.LoopManager) -> None:
    manager.stop()
    manager.stop(mode=Tether.StopMode.CANCEL)
    assert_type(manager.stop_within(), tuple[bool, int, int])
    manager.stop_within(timeout_usec=1_000_000)
    manager.set_debug_flags(Tether.DebugFlags.SLOW | Tether.DebugFlags.DROPPED)


def errors(manager: Tether.LoopManager) -> None:
    try:
        manager.submit(add, 1, 2).result(timeout=1)
    except Tether.WouldDeadlockError as error:
        assert_type(error.code, int)
        assert isinstance(error, GLib.Error)
    except Tether.TimedOutError as error:
        assert isinstance(error, TimeoutError)
    except (Tether.NotRunningError, Tether.BusyError, Tether.UnknownTaskTypeError):
        pass
    except Tether.TetherError as error:
        assert_type(error.message, str)
        assert_type(error.matches(Tether.error_quark(), Tether.Error.FAILED), bool)
    try:
        Tether.LoopManager.get_or_create('missing', strict=True)
    except LookupError as error:
        assert isinstance(error, Tether.ManagerNotFoundError)
    if not manager.is_running():
        raise Tether.InvalidArgumentError('bad')


def lineage() -> None:
    token = Tether.Lineage.capture()
    with token as held:
        assert_type(held, Tether.Lineage)
        assert_type(held.get_depth(), int)
    thread = Tether.Thread(target=registry)
    thread.start()
    thread.join()


def pool_forms() -> None:
    with Tether.Pool('typed-pool', 2) as pool:
        assert_type(pool.submit(add, 1, 2), Tether.Future[int])
        assert_type(pool.submit(fetch, 1), Tether.Future[str])
        assert_type(list(pool.map(str, [1, 2])), list[str])
        assert isinstance(pool, concurrent.futures.Executor)
    pool.shutdown(wait=True, cancel_futures=False)
