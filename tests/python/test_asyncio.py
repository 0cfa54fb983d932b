# SPDX-License-Identifier: LGPL-2.1-or-later
"""asyncio on every manager: the loop API on a manager's thread, coroutines
as work, and the loop from other threads.

Every blocking call has a timeout (LONG) and conftest.py's watchdog ends a
hung run; conftest.py also fails any test during which asyncio reports a
coroutine that was never awaited or a task destroyed while pending.
"""

import asyncio
import concurrent.futures
import gc
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Gio, Tether  # noqa: E402

LONG = 10.0  # seconds; generous, for anything expected to finish

ENV = dict(os.environ)


def tether_error(code):
    return lambda e: isinstance(e, GLib.Error) and e.matches(Tether.error_quark(), code)


def wait_until(predicate):
    """Polls a condition another thread makes true; bounded by LONG."""
    deadline = time.monotonic() + LONG
    while not predicate():
        assert time.monotonic() < deadline, 'condition never became true'
        time.sleep(0.001)


# ---------------------------------------------------------------------------
# The loop of a manager's thread

def test_running_loop_in_plain_work_and_coroutines(manager):
    def plain(work):
        return asyncio.get_running_loop(), asyncio.get_event_loop(), threading.get_ident()

    async def coro(work):
        return asyncio.get_running_loop()

    running, event_loop, ident = manager.submit(None, None, plain).result(LONG)
    assert running is event_loop
    assert type(running).__name__ == 'TetherEventLoop'
    assert manager.submit(None, None, coro).result(LONG) is running
    assert manager.get_asyncio_loop() is running
    assert running.is_running() and not running.is_closed()
    assert running._thread_id == ident
    # No loop leaks into threads that are not the manager's.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_loop_is_made_from_another_thread_first(manager):
    loop = manager.get_asyncio_loop()

    async def where():
        return asyncio.get_running_loop(), threading.current_thread().name

    running, name = asyncio.run_coroutine_threadsafe(where(), loop).result(LONG)
    assert running is loop
    assert manager.submit(None, None, lambda w: asyncio.get_running_loop()).result(LONG) is loop

    done = threading.Event()
    loop.call_soon_threadsafe(done.set)
    assert done.wait(LONG)


def test_no_loop_for_a_stopped_manager():
    m = Tether.LoopManager.new('stopped')
    with pytest.raises(RuntimeError, match='not running'):
        m.get_asyncio_loop()


def test_call_soon_call_later_call_at_order(manager):
    async def order(work):
        loop = asyncio.get_running_loop()
        seen = []
        done = loop.create_future()
        now = loop.time()
        loop.call_at(now + 0.03, seen.append, 'at+30ms')
        loop.call_later(0.02, seen.append, 'later+20ms')
        loop.call_later(0.01, seen.append, 'later+10ms')
        loop.call_soon(seen.append, 'soon1')
        loop.call_soon(seen.append, 'soon2')
        cancelled = loop.call_soon(seen.append, 'cancelled')
        cancelled.cancel()
        loop.call_at(now + 0.04, done.set_result, None)
        await done
        return seen, loop.time() - now

    seen, elapsed = manager.submit(None, None, order).result(LONG)
    # Timers run in deadline order, whatever order they were scheduled in
    # (a loaded machine may run several in one round: still in that order).
    assert seen == ['soon1', 'soon2', 'later+10ms', 'later+20ms', 'at+30ms']
    assert elapsed >= 0.04


def test_callbacks_scheduled_by_plain_work_run(manager):
    # Plain work schedules on the loop and finishes later from it.
    def plain(work):
        loop = asyncio.get_running_loop()
        loop.call_later(0.001, work.return_string, 'from a timer')
        return Tether.DEFERRED

    assert manager.submit(None, None, plain).result(LONG) == 'from a timer'


def test_add_reader_and_writer_on_a_socketpair(manager):
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        async def read_one(work):
            loop = asyncio.get_running_loop()
            got = loop.create_future()

            def readable():
                loop.remove_reader(a)
                got.set_result(a.recv(100))
            loop.add_reader(a, readable)
            writable = loop.create_future()

            def on_writable():
                loop.remove_writer(a)
                writable.set_result(True)
            loop.add_writer(a, on_writable)
            assert await writable
            return await got

        future = manager.submit(None, None, read_one)
        b.send(b'ping')                         # from this thread
        assert future.result(LONG) == b'ping'
    finally:
        a.close()
        b.close()


def test_streams_echo_server_on_localhost(manager):
    async def echo(reader, writer):
        while data := await reader.readline():
            writer.write(data.upper())
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def serve(work):
        server = await asyncio.start_server(echo, '127.0.0.1', 0)
        return server

    server = manager.submit(None, None, serve).result(LONG)
    port = server.sockets[0].getsockname()[1]
    try:
        # A client on the manager's loop...
        async def client(work):
            reader, writer = await asyncio.open_connection('127.0.0.1', port)
            writer.write(b'hello\nworld\n')
            await writer.drain()
            lines = [await reader.readline(), await reader.readline()]
            writer.close()
            await writer.wait_closed()
            return lines

        assert manager.submit(None, None, client).result(LONG) == [b'HELLO\n', b'WORLD\n']

        # ... and a blocking one on this thread.
        with socket.create_connection(('127.0.0.1', port), timeout=LONG) as sock:
            sock.sendall(b'tether\n')
            assert sock.makefile('rb').readline() == b'TETHER\n'
    finally:
        async def close(work):
            server.close()
            await server.wait_closed()
        manager.submit(None, None, close).result(LONG)


def test_run_in_executor_and_getaddrinfo(manager):
    async def work(work):
        loop = asyncio.get_running_loop()
        ident = await loop.run_in_executor(None, threading.get_ident)
        to_thread = await asyncio.to_thread(threading.get_ident)
        infos = await loop.getaddrinfo('localhost', 80, type=socket.SOCK_STREAM)
        return ident, to_thread, threading.get_ident(), infos

    ident, to_thread, own, infos = manager.submit(None, None, work).result(LONG)
    assert ident != own and to_thread != own
    assert infos and all(info[4][1] == 80 for info in infos)


def test_subprocess(manager):
    async def run(work):
        process = await asyncio.create_subprocess_exec(
            sys.executable, '-c', 'print(6 * 7)', stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        return out.strip(), process.returncode

    assert manager.submit(None, None, run).result(LONG) == (b'42', 0)


def test_running_the_loop_is_refused(manager):
    async def nothing():
        pass

    def misuse(work):
        loop = asyncio.get_running_loop()
        messages = []
        for attempt in (loop.run_forever, lambda: loop.run_until_complete(nothing()),
                        loop.stop, loop.close):
            try:
                attempt()
            except RuntimeError as error:
                messages.append(str(error))
        return messages

    messages = manager.submit(None, None, misuse).result(LONG)
    assert len(messages) == 4
    for message in messages:
        assert 'manager.stop()' in message and 'submit' in message
    # And from another thread too; the loop still works afterwards.
    loop = manager.get_asyncio_loop()
    with pytest.raises(RuntimeError, match='Tether'):
        loop.close()
    assert not loop.is_closed()
    assert manager.submit(None, None, lambda w: 1).result(LONG) == 1


def test_asyncio_run_inside_work_says_what_to_do(manager):
    async def inner():
        return 1

    def plain(work):
        asyncio.run(inner())

    async def coro(work):
        asyncio.run(inner())

    for func in (plain, coro):
        with pytest.raises(RuntimeError) as info:
            manager.submit(None, None, func).result(LONG)
        message = str(info.value)
        assert 'asyncio.run() cannot be called' in message
        assert 'await' in message and 'submit' in message
    # Elsewhere asyncio.run() is asyncio's own.
    assert asyncio.run(inner()) == 1


def test_loop_released_when_the_thread_ends_and_made_again():
    m = Tether.LoopManager.new('restart')
    loops = []
    for _ in range(3):
        m.start(None)
        loop = m.get_asyncio_loop()
        loops.append(loop)
        assert m.submit(None, None, lambda w: asyncio.get_running_loop()).result(LONG) is loop
        m.stop(Tether.StopMode.DRAIN)
        assert loop.is_closed()
    assert len({id(loop) for loop in loops}) == 3


def test_tasks_left_on_the_loop_are_cancelled_at_stop(manager):
    ran = []

    def spawn(work):
        async def free():
            try:
                await asyncio.sleep(3600)
            finally:
                ran.append('finally')
        asyncio.get_running_loop().create_task(free())

    async def gen():
        try:
            yield 1
            yield 2
        finally:
            ran.append('asyncgen closed')

    async def start_gen(work):
        g = gen()
        assert await g.__anext__() == 1
        asyncio.get_running_loop()._kept_gen = g    # suspended, never finished

    manager.submit(None, None, spawn).result(LONG)
    manager.submit(None, None, start_gen).result(LONG)
    loop = manager.get_asyncio_loop()
    manager.stop(Tether.StopMode.DRAIN)
    assert 'finally' in ran
    assert 'asyncgen closed' in ran
    assert loop.is_closed()


def test_dropping_the_last_reference_releases_the_loop():
    # Run in a subprocess: a deadlock must fail, not hang the suite.
    code = '''if True:
        import asyncio, gc, faulthandler
        faulthandler.dump_traceback_later(8, exit=True)
        import gi; gi.require_version('Tether', '1.0')
        from gi.repository import Tether
        for i in range(3):
            m = Tether.LoopManager.new('drop%d' % i)
            m.start(None)
            async def work(w):
                asyncio.get_running_loop().create_task(asyncio.sleep(3600))
                await asyncio.sleep(0)
                return 1
            assert m.submit(None, None, work).result(10) == 1
            loop = m.get_asyncio_loop()
            del m
            gc.collect()
            # The last unref drains on the manager's own thread, detached.
            assert Tether.LoopManager.wait_detached(10 * 1000 * 1000)
            assert loop.is_closed()
        print('ok')
    '''
    result = subprocess.run([sys.executable, '-W', 'error::RuntimeWarning', '-c', code],
                            env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'ok'
    assert 'Task was destroyed' not in result.stderr


# ---------------------------------------------------------------------------
# Coroutines as work

async def double(work, n):
    await asyncio.sleep(0.001)
    assert isinstance(work, Tether.Work)
    return n * 2


def test_submit_forms(manager):
    assert manager.submit(None, None, double, 21).result(LONG) == 42
    assert manager.submit_after(None, 1000, None, double, 4).result(LONG) == 8
    ready = GLib.get_monotonic_time() + 1000
    assert manager.submit_at(None, ready, None, double, 5).result(LONG) == 10

    async def no_wait(work):
        return 'at once'
    assert manager.submit(None, None, no_wait).result(LONG) == 'at once'

    # functools.partial and plain functions that return a coroutine are
    # async work too.
    import functools
    assert manager.submit(None, None, functools.partial(double, n=3)).result(LONG) == 6
    assert manager.submit(None, None, lambda w: double(w, 7)).result(LONG) == 14


def test_coroutine_objects(manager):
    async def plain_coro(value):
        await asyncio.sleep(0)
        return value

    assert manager.submit(None, None, plain_coro('object')).result(LONG) == 'object'
    # Duck's spelling: keywords.
    assert manager.submit(func=plain_coro('kw'), task_type=None).result(LONG) == 'kw'
    with pytest.raises(TypeError, match='alone'):
        manager.submit(None, None, plain_coro('x'), 'extra')


def test_rejected_or_unrun_coroutine_objects_are_closed(manager):
    async def never(value):
        return value

    stopped = Tether.LoopManager.new('stopped-coro')
    with pytest.raises(GLib.Error) as info:
        stopped.submit(None, None, never(1))
    assert tether_error(Tether.Error.NOT_RUNNING)(info.value)

    typed = Tether.LoopManager.new('typed-coro')
    typed.start('render')
    try:
        with pytest.raises(GLib.Error):
            typed.submit('other', None, never(2))
        assert typed.submit('render', None, never(3)).result(LONG) == 3
    finally:
        typed.stop(Tether.StopMode.DRAIN)

    # Cancelled before it ran: closed unrun, never "never awaited".
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    future = manager.submit(None, cancellable, never(4))
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(LONG)
    del future
    gc.collect()


def test_submit_async_and_post(manager, caplog):
    results = []
    done = threading.Event()
    context = GLib.MainContext.new()

    def ready(source, result, *data):
        results.append(source.submit_finish(result))
        done.set()

    context.push_thread_default()
    try:
        manager.submit_async(None, double, (8,), None, ready)
        while not done.is_set():
            context.iteration(True)
    finally:
        context.pop_thread_default()
    assert results == [(True, 16)]

    posted = threading.Event()

    async def post_work(event):
        await asyncio.sleep(0)
        event.set()
    assert manager.post(None, post_work, posted)
    assert posted.wait(LONG)

    async def post_fails():
        await asyncio.sleep(0)
        raise ValueError('posted coroutine failed')
    with caplog.at_level(logging.ERROR, logger='gi.overrides.Tether'):
        assert manager.post(None, post_fails)
        wait_until(lambda: 'posted coroutine failed' in caplog.text)


def test_exception_keeps_its_traceback(manager):
    async def deep(work):
        await asyncio.sleep(0)
        return await failing_helper()

    future = manager.submit(None, None, deep)
    with pytest.raises(KeyError) as info:
        future.result(LONG)
    names = [frame.name for frame in info.traceback]
    assert 'failing_helper' in names and 'deep' in names
    assert future.exception(LONG) is info.value
    # C and GJS see Type: message.
    error = future.dup_error()
    assert error.matches(Tether.error_quark(), Tether.Error.FAILED)
    assert error.message == "KeyError: 'missing'"


async def failing_helper():
    await asyncio.sleep(0)
    raise KeyError('missing')


def test_keyboard_interrupt_in_a_coroutine_is_its_outcome(manager, caplog):
    async def interrupted(work):
        await asyncio.sleep(0)
        raise KeyboardInterrupt('in a coroutine')

    with pytest.raises(KeyboardInterrupt):
        manager.submit(None, None, interrupted).result(LONG)

    def plain(work):
        loop = asyncio.get_running_loop()

        def callback():
            raise SystemExit('in a callback')
        loop.call_soon(callback)
        loop.call_later(0.001, work.return_string, 'loop goes on')
        return Tether.DEFERRED

    with caplog.at_level(logging.ERROR, logger='asyncio'):
        assert manager.submit(None, None, plain).result(LONG) == 'loop goes on'
    assert 'SystemExit raised in a callback' in caplog.text
    assert manager.submit(None, None, double, 2).result(LONG) == 4


def test_future_cancel_cancels_the_task(manager):
    started = threading.Event()
    seen = []

    async def forever(work):
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append('cancelled')
            raise
        finally:
            seen.append('finally')

    future = manager.submit(None, None, forever)
    assert started.wait(LONG)
    future.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(LONG)
    assert future.cancelled()
    assert seen == ['cancelled', 'finally']


def test_user_cancellable_cancels_the_task_and_a_value_wins(manager):
    started = threading.Event()

    async def stubborn(work):
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return 'returned after cancel'

    cancellable = Gio.Cancellable()
    future = manager.submit(None, cancellable, stubborn)
    assert started.wait(LONG)
    cancellable.cancel()
    assert future.result(LONG) == 'returned after cancel'

    async def cancels_itself(work):
        asyncio.current_task().cancel()
        await asyncio.sleep(0)
    future = manager.submit(None, None, cancels_itself)
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(LONG)


def test_cancelling_an_awaiting_coroutine_cancels_the_awaited_work():
    a = Tether.LoopManager.new('await-a')
    b = Tether.LoopManager.new('await-b')
    a.start(None)
    b.start(None)
    try:
        entered = threading.Event()
        b_cancelled = threading.Event()

        kept = []

        def b_work(work):
            kept.append(work)               # ends when the handle is dropped
            work.get_cancellable().connect(lambda *unused: b_cancelled.set())
            entered.set()
            return Tether.DEFERRED

        async def a_work(work):
            return await b.submit(None, None, b_work)

        future = a.submit(None, None, a_work)
        assert entered.wait(LONG)
        future.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            future.result(LONG)
        assert b_cancelled.wait(LONG)
    finally:
        kept.clear()                        # b's work ends, abandoned
        a.stop(Tether.StopMode.CANCEL)
        b.stop(Tether.StopMode.CANCEL)


def test_cancel_racing_the_end_many_times(manager):
    async def short(work, i):
        if i % 2:
            await asyncio.sleep(0)
        return i

    for i in range(300):
        future = manager.submit(None, None, short, i)
        future.cancel()
        try:
            assert future.result(LONG) == i
        except concurrent.futures.CancelledError:
            assert future.cancelled()
    assert manager.submit(None, None, short, 1).result(LONG) == 1


def test_debug_mode_reports_slow_callbacks(manager, caplog):
    loop = manager.get_asyncio_loop()

    async def slow(work):
        loop.slow_callback_duration = 0.01
        loop.set_debug(True)
        await asyncio.sleep(0)
        time.sleep(0.05)                    # blocks the loop: a slow step
        await asyncio.sleep(0)
        loop.set_debug(False)

    with caplog.at_level(logging.WARNING, logger='asyncio'):
        manager.submit(None, None, slow).result(LONG)
    assert 'took' in caplog.text


def test_awaiting_other_and_same_manager(manager):
    other = Tether.LoopManager.new('other')
    other.start(None)
    try:
        async def chain(work):
            from_other = await other.submit(None, None, double, 10)
            from_same = await manager.submit(None, None, double, 1)
            plain_same = await manager.submit(None, None, lambda w: 'plain')
            return from_other, from_same, plain_same

        assert manager.submit(None, None, chain).result(LONG) == (20, 2, 'plain')

        # Blocking on the same manager is an error, never a hang.
        async def blocks(work):
            return manager.submit(None, None, double, 1).result(LONG)
        with pytest.raises(GLib.Error) as info:
            manager.submit(None, None, blocks).result(LONG)
        assert tether_error(Tether.Error.WOULD_DEADLOCK)(info.value)
    finally:
        other.stop(Tether.StopMode.DRAIN)


def test_gather_a_thousand_submissions(manager):
    async def square(work, i):
        await asyncio.sleep(0)
        return i * i

    async def from_here():
        return await asyncio.gather(*(manager.submit(None, None, square, i)
                                      for i in range(1000)))

    assert asyncio.run(asyncio.wait_for(from_here(), LONG)) == [i * i for i in range(1000)]

    # And on the manager's own loop, to itself.
    async def on_manager(work):
        return await asyncio.gather(*(manager.submit(None, None, square, i)
                                      for i in range(1000)))

    assert manager.submit(None, None, on_manager).result(LONG) == [i * i for i in range(1000)]


def test_task_types_and_stats():
    m = Tether.LoopManager.new('typed')
    m.start('io')
    try:
        before = m.dup_stats().unpack()
        with pytest.raises(GLib.Error) as info:
            m.submit('cpu', None, double, 1)
        assert tether_error(Tether.Error.UNKNOWN_TASK_TYPE)(info.value)
        with pytest.raises(GLib.Error):
            m.submit(None, None, double, 1)

        gate = threading.Event()

        async def held(work):
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, LONG)
            return 'held'

        future = m.submit('io', None, held)
        # A suspended task counts as running, and leaves the thread free.
        wait_until(lambda: m.dup_stats().unpack()['running'] == 1)
        assert m.submit('io', None, double, 2).result(LONG) == 4
        assert m.dup_stats().unpack()['running'] == 1
        gate.set()
        assert future.result(LONG) == 'held'
        wait_until(lambda: m.dup_stats().unpack()['running'] == 0)
        stats = m.dup_stats().unpack()
        assert stats['completed'] - before['completed'] == 2
        assert stats['rejected'] - before['rejected'] == 2
    finally:
        m.stop(Tether.StopMode.CANCEL)


# ---------------------------------------------------------------------------
# Stops with tasks in flight

def test_stop_drain_waits_for_running_tasks():
    m = Tether.LoopManager.new('drain')
    m.start(None)
    loop = m.get_asyncio_loop()
    release = asyncio.Event()

    async def long_task(work):
        await release.wait()
        return 'drained'

    future = m.submit(None, None, long_task)
    wait_until(lambda: m.dup_stats().unpack()['running'] == 1)

    def release_once_stopping():
        wait_until(lambda: not m.is_running())
        loop.call_soon_threadsafe(release.set)
    helper = threading.Thread(target=release_once_stopping)
    helper.start()
    m.stop(Tether.StopMode.DRAIN)
    helper.join(LONG)
    assert future.result(0) == 'drained'
    assert loop.is_closed()


@pytest.mark.parametrize('how', ['cancel', 'stop_within'])
def test_stop_cancel_and_deadline_cancel_running_tasks(how):
    m = Tether.LoopManager.new('stop-' + how)
    m.start(None)
    seen = []
    started = threading.Event()

    async def forever(work):
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            seen.append('finally')

    future = m.submit(None, None, forever)
    queued = m.submit_after(None, 3600 * 1000000, None, double, 1)
    assert started.wait(LONG)
    if how == 'cancel':
        m.stop(Tether.StopMode.CANCEL)
    else:
        ok, ran, cancelled = m.stop_within(1000)
        assert ok and (ran, cancelled) == (0, 2)
    assert future.cancelled() and queued.cancelled()
    assert seen == ['finally']


# ---------------------------------------------------------------------------
# The GIL while managers idle

def _thread_wakeups(native_id):
    """Context switches of one thread so far, or None off Linux."""
    try:
        with open('/proc/self/task/%d/status' % native_id) as f:
            fields = dict(line.split(':', 1) for line in f)
    except OSError:
        return None
    return sum(int(fields[k]) for k in ('voluntary_ctxt_switches',
                                        'nonvoluntary_ctxt_switches'))


# System calls a thread idles in, on x86_64 Linux: poll, select, epoll_wait,
# pselect6, ppoll, epoll_pwait, epoll_pwait2.
_POLL_SYSCALLS_X86_64 = {7, 23, 232, 270, 271, 281, 441}


def _thread_asleep_in_poll(native_id):
    """True once the thread is blocked (state S) in a poll-like system call;
    always True where /proc cannot tell (another OS or architecture)."""
    if os.uname().machine != 'x86_64':
        return True
    try:
        with open('/proc/self/task/%d/stat' % native_id) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        with open('/proc/self/task/%d/syscall' % native_id) as f:
            call = f.read().split()[0]
    except (OSError, IndexError):
        return True
    return state == 'S' and call.isdigit() and int(call) in _POLL_SYSCALLS_X86_64


def test_idle_managers_leave_the_gil_alone():
    managers = [Tether.LoopManager.new('idle%d' % i) for i in range(3)]
    threads = []
    try:
        for m in managers:
            m.start(None)

            async def arm(work):
                loop = asyncio.get_running_loop()
                loop.call_later(3600, lambda: None)       # a timer far away
                r, w = socket.socketpair()
                loop.add_reader(r, lambda: None)          # a descriptor, quiet
                loop._kept = (r, w)
                return threading.get_native_id(), threading.get_ident()
            threads.append(m.submit(None, None, arm).result(LONG))

        def cpu_time():
            return sum(time.clock_gettime(time.pthread_getcpuclockid(ident))
                       for _, ident in threads)

        def wakeups():
            return [_thread_wakeups(native) for native, _ in threads]

        # Let the managers finish returning from the work above: each
        # thread asleep in its poll, as the kernel reports it.
        wait_until(lambda: all(_thread_asleep_in_poll(native) for native, _ in threads))
        before_cpu = cpu_time()
        before_wakeups = wakeups()
        # A busy Python thread: it never blocks, so any wake-up of an idle
        # manager that took the GIL would show as work on that thread.
        total = 0
        for i in range(2_000_000):
            total += i
        assert total == 1999999000000
        spent = cpu_time() - before_cpu
        after_wakeups = wakeups()
        # Idle managers neither wake nor spend CPU while the busy thread runs.
        assert spent < 0.01
        for before, after in zip(before_wakeups, after_wakeups):
            if before is not None:
                assert after - before <= 1
    finally:
        for m in managers:
            async def close(work):
                for s in asyncio.get_running_loop()._kept:
                    asyncio.get_running_loop().remove_reader(s) if s.fileno() >= 0 else None
                    s.close()
            if m.is_running():
                m.submit(None, None, close).result(LONG)
            m.stop(Tether.StopMode.DRAIN)
