# SPDX-License-Identifier: LGPL-2.1-or-later
"""The failures of the five seed write-ups, solved with Tether.

Each seed has a runnable example in examples/python/; these tests import the
examples, check what they claim, and add the edge cases around them. Nothing
here asserts on how fast something happens: timeouts only bound failures.
"""
import asyncio
import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, os.pardir, 'examples', 'python'))

import seed_000_worker_threads as seed000  # noqa: E402
import seed_001_sync_wrapper as seed001  # noqa: E402
import seed_002_thread_pool_handler as seed002  # noqa: E402
import seed_003_loop_lifecycle as seed003  # noqa: E402
import seed_004_domain_managers as seed004  # noqa: E402

TIMEOUT = 10  # seconds; only reached when something is broken
DRAIN, CANCEL = Tether.StopMode.DRAIN, Tether.StopMode.CANCEL
NONE, STRICT, FORCE_CREATE = (Tether.LookupFlags.NONE, Tether.LookupFlags.STRICT,
                              Tether.LookupFlags.FORCE_CREATE)


@pytest.fixture
def keep():
    """keep(manager) -> manager: the manager is stopped after the test, in
    CANCEL mode so that nothing a failed test left queued holds the teardown.
    (Managers registered on the main thread stay registered, stopped, for the
    whole session: the next test that looks one up starts it again.)"""
    kept = []

    def add(manager):
        kept.append(manager)
        return manager
    yield add
    for manager in kept:
        manager.stop(CANCEL)
    assert not any(manager.is_running() for manager in kept)


def is_error(error, code):
    return isinstance(error, GLib.Error) and error.matches(Tether.error_quark(), code)


def native_id(work):
    return threading.get_native_id()


def in_thread(func, *args):
    """Runs func(*args) on a plain threading.Thread: a thread outside any lineage."""
    return seed000.run_in(threading.Thread, func, *args)


# --- Seed 000: worker threads that have no event loop ----------------------

def test_000_the_failure_asyncio_has_no_loop_in_a_worker_thread():
    error = in_thread(asyncio.get_event_loop).exception()
    assert isinstance(error, RuntimeError)
    assert 'no current event loop' in str(error)


def test_000_tether_threads_find_the_manager_main_registered(keep):
    manager = keep(seed000.register_domain())
    assert manager.is_running()
    results = [seed000.run_in(Tether.Thread, seed000.square_on_domain_loop, i).result()
               for i in range(4)]
    assert results == [0, 1, 4, 9]
    found = seed000.run_in(Tether.Thread, Tether.LoopManager.get_or_create,
                           seed000.DOMAIN, STRICT).result()
    assert found == manager


def test_000_grandchild_threads_inherit_too(keep):
    manager = keep(seed000.register_domain())

    def child():
        return seed000.run_in(Tether.Thread, Tether.LoopManager.get_or_create,
                              seed000.DOMAIN, STRICT).result()
    assert seed000.run_in(Tether.Thread, child).result() == manager


def test_000_pool_and_plain_threads_join_with_a_token(keep):
    keep(seed000.register_domain())
    assert seed000.pool_workers(16) == [i * i for i in range(16)]

    token = Tether.Lineage.capture()

    def plain_thread_job():
        with token:
            return seed000.square_on_domain_loop(7)
    assert in_thread(plain_thread_job).result() == 49


def test_000_leaving_the_token_leaves_the_lineage(keep):
    keep(seed000.register_domain())
    token = Tether.Lineage.capture()

    def job():
        with token:
            inside = seed000.square_on_domain_loop(3)
        try:
            seed000.square_on_domain_loop(3)
        except GLib.Error as error:
            return inside, error
    inside, error = in_thread(job).result()
    assert inside == 9
    assert is_error(error, Tether.Error.MANAGER_NOT_FOUND)


def test_000_a_thread_outside_the_lineage_gets_manager_not_found(keep):
    keep(seed000.register_domain())
    error = in_thread(seed000.square_on_domain_loop, 3).exception()
    assert is_error(error, Tether.Error.MANAGER_NOT_FOUND)
    assert "'%s'" % seed000.DOMAIN in error.message
    assert 'event loop' not in error.message
    # A pool job that was handed no token is outside the lineage as well.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        error = pool.submit(seed000.square_on_domain_loop, 3).exception()
    assert is_error(error, Tether.Error.MANAGER_NOT_FOUND)


def test_000_a_worker_can_force_create_an_isolated_manager(keep):
    manager = keep(seed000.register_domain())
    inherited, own = seed000.isolated_worker()
    assert inherited == manager.submit(None, None, native_id).result(timeout=TIMEOUT)
    assert own != inherited
    # The main thread still resolves to its own manager.
    assert Tether.LoopManager.get_or_create(seed000.DOMAIN, STRICT) == manager


def test_000_the_seeds_fixture_works_as_written_on_the_managers_thread(keep):
    manager = keep(seed000.register_domain())
    assert manager.submit(seed000.ensure_event_loop).result(timeout=TIMEOUT) is True
    # And the worker's async body ran on the manager's loop.
    assert seed000.square_on_domain_loop(5) == 25


def test_000_strict_and_force_create_together_are_invalid():
    with pytest.raises(GLib.Error) as info:
        Tether.LoopManager.get_or_create(seed000.DOMAIN, STRICT | FORCE_CREATE)
    assert is_error(info.value, Tether.Error.INVALID_ARGUMENT)


# --- Seed 001: a sync wrapper called from inside a running loop ------------

def test_001_the_failure_asyncio_run_inside_a_running_loop():
    error = asyncio.run(seed001.asyncio_run_in_coroutine())
    assert isinstance(error, RuntimeError)
    assert 'cannot be called from a running event loop' in str(error)


@pytest.fixture
def app(keep):
    manager = keep(Tether.LoopManager.new('app'))
    manager.start(None)
    return manager


def test_001_the_wrapper_on_the_loop_thread_is_an_error_not_a_hang(app):
    began = time.monotonic()
    error = seed001.wrapper_on_loop_thread(app)
    # A hang would have ended with TimeoutError after the wrapper's 10 s.
    assert is_error(error, Tether.Error.WOULD_DEADLOCK), error
    assert time.monotonic() - began < 5
    # The manager is not wedged: it keeps serving.
    assert seed001.fetch_sync(app, 'still alive') == 'STILL ALIVE'


def test_001_the_wrapper_from_other_threads_blocks_and_returns(app):
    assert seed001.wrapper_from_other_thread(app) == 'FROM A THREAD'
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: seed001.fetch_sync(app, 'call %d' % i), range(16)))
    assert results == ['CALL %d' % i for i in range(16)]


def test_001_a_coroutine_awaits_the_future(app):
    assert asyncio.run(seed001.awaited(app)) == 'AWAITED'


def test_001_await_does_not_block_the_asyncio_loop(app):
    async def scenario():
        gate = threading.Event()
        # The work can only finish once a coroutine on this loop has run.
        future = app.submit(None, None, lambda work: gate.wait(TIMEOUT))

        async def open_gate():
            await asyncio.sleep(0)
            gate.set()
        opened, _ = await asyncio.gather(future, open_gate())
        return opened
    assert asyncio.run(scenario()) is True


def test_001_the_wrapper_works_inside_a_running_asyncio_loop(app):
    async def scenario():
        asyncio.get_running_loop()             # really inside a running loop
        return await seed001.wrapper_in_coroutine(app)
    assert asyncio.run(scenario()) == 'CALLED IN A RUNNING LOOP'


def test_001_asyncio_run_in_work_says_to_await(app):
    error = seed001.asyncio_run_in_work(app)
    assert isinstance(error, RuntimeError)
    assert "Tether manager 'app'" in str(error) and 'await' in str(error)
    assert seed001.fetch_sync(app, 'still alive') == 'STILL ALIVE'


def test_001_async_work_awaits_instead(app):
    assert seed001.awaited_in_work(app) == 'AWAITED IN WORK!'


def test_001_work_chains_with_add_done_callback(app):
    assert seed001.chained_in_work(app) == 'CHAINED!'


def test_001_work_returns_deferred_and_finishes_from_its_loop(app):
    assert seed001.deferred_in_work(app) == 'deferred'


# --- Seed 002: a sync handler in a thread pool needs another thread's loop --

def test_002_the_failure_a_pool_handler_has_no_running_loop():
    error = seed002.asyncio_in_handler()
    assert isinstance(error, RuntimeError)
    assert 'no running event loop' in str(error)


def test_002_many_pool_handlers_reach_the_main_threads_manager(keep):
    manager = keep(seed002.start_app())
    loop_thread = manager.submit(None, None, native_id).result(timeout=TIMEOUT)
    replies = seed002.serve(range(64), workers=8)
    assert [r['answer'] for r in replies] == [2 * i for i in range(64)]
    assert {r['thread'] for r in replies} == {loop_thread}
    assert loop_thread not in {r['handler_thread'] for r in replies}
    assert seed002.thread_name(loop_thread) == 'tether:' + seed002.DOMAIN


def test_002_concurrent_handlers_block_at_the_same_time(keep):
    keep(seed002.start_app())
    handlers = 8
    all_waiting = threading.Barrier(handlers, timeout=TIMEOUT)

    def handler(token, request):
        all_waiting.wait()                     # every handler is in flight at once
        return seed002.handler(token, request)
    with concurrent.futures.ThreadPoolExecutor(max_workers=handlers) as pool:
        jobs = [pool.submit(handler, Tether.Lineage.capture(), i) for i in range(handlers)]
        replies = [job.result(timeout=TIMEOUT) for job in jobs]
    assert [r['answer'] for r in replies] == [2 * i for i in range(handlers)]
    assert len({r['handler_thread'] for r in replies}) == handlers
    assert len({r['thread'] for r in replies}) == 1


def test_002_the_seeds_run_coroutine_threadsafe_pattern_works_unchanged(keep):
    manager = keep(seed002.start_app())
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(seed002.sync_with_async_pattern, Tether.Lineage.capture())
                for _ in range(8)]
        replies = [job.result(timeout=TIMEOUT) for job in jobs]
    loop_thread = manager.submit(None, None, native_id).result(timeout=TIMEOUT)
    for reply in replies:
        assert reply['blocking_thread'] not in (reply['handler_thread'], loop_thread)


def test_002_a_handler_without_a_token_gets_manager_not_found(keep):
    keep(seed002.start_app())

    def handler(request):
        return Tether.LoopManager.get_or_create(seed002.DOMAIN, STRICT)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        error = pool.submit(handler, 1).exception()
    assert is_error(error, Tether.Error.MANAGER_NOT_FOUND)


# --- Seed 003: the loop lifecycle -------------------------------------------

@pytest.fixture
def sched(keep):
    manager = keep(Tether.LoopManager.get_or_create('sched', NONE))
    if not manager.is_running():
        manager.start(None)
    return manager


def test_003_call_soon_later_and_at(sched):
    futures = seed003.schedule(sched)
    soon, _ = futures['soon']
    assert soon.result(timeout=TIMEOUT) == ['posted']      # post ran first, in order
    for name in ('later', 'at'):
        future, due = futures[name]
        assert future.result(timeout=TIMEOUT) >= due       # never early


def test_003_the_tutorials_loop_methods_on_the_managers_loop(sched):
    assert sched.submit(None, None, seed003.tutorial).result(timeout=TIMEOUT) == [
        'Running soon', 'Task ran', 'Running at specified time', 'Running after 0.02s',
        'close() refused']


def test_003_futures_report_every_outcome(sched):
    def fail(work):
        raise ValueError('bad input')
    ok = sched.submit(None, None, lambda work: 42)
    failed = sched.submit(None, None, fail)
    assert ok.result(timeout=TIMEOUT) == 42 and ok.exception() is None
    assert isinstance(failed.exception(timeout=TIMEOUT), ValueError)
    with pytest.raises(ValueError, match='bad input'):
        failed.result()
    assert ok.done() and failed.done() and not ok.cancelled()


def test_003_cancelling_a_pending_timer(sched):
    timer = sched.submit_after(None, 60 * 1_000_000, None, seed003.now)
    assert not timer.done()
    timer.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        timer.result(timeout=TIMEOUT)
    assert timer.cancelled() and timer.done()
    at = sched.submit_at(None, GLib.get_monotonic_time() + 60 * 1_000_000, None, seed003.now)
    at.cancel()
    assert at.cancelled()
    after = sched.submit(None, None, lambda work: 'unaffected')
    assert after.result(timeout=TIMEOUT) == 'unaffected'


def test_003_stop_drain_runs_queued_work(sched):
    first, queued, timer = seed003.stop_with_queue(sched, DRAIN, queued=5)
    assert not sched.is_running()
    assert first.result(timeout=0) == 'finished'
    assert [f.result(timeout=0) for f in queued] == list(range(5))
    assert timer.cancelled()                   # a timer not yet due ends cancelled


def test_003_stop_cancel_ends_queued_work_cancelled(sched):
    first, queued, timer = seed003.stop_with_queue(sched, CANCEL, queued=5)
    assert not sched.is_running()
    assert first.result(timeout=0) == 'saw cancel'     # running work: advisory
    assert seed003.statuses(queued) == ['cancelled'] * 5
    for future in queued:
        assert future.cancelled()
        with pytest.raises(concurrent.futures.CancelledError):
            future.result(timeout=0)
    assert timer.cancelled()


def test_003_a_stopped_manager_refuses_work_and_starts_again(sched):
    sched.stop(DRAIN)
    with pytest.raises(GLib.Error) as info:
        sched.submit(None, None, lambda work: 1)
    assert is_error(info.value, Tether.Error.NOT_RUNNING)
    sched.start(None)
    assert sched.submit(None, None, lambda work: 'again').result(timeout=TIMEOUT) == 'again'
    sched.stop(CANCEL)
    sched.start('batch')                       # with another task type, if you like
    assert sched.dup_task_type() == 'batch'
    assert sched.submit('batch', None, lambda work: 'batched').result(timeout=TIMEOUT) == 'batched'


def test_003_debug_view_registry_snapshot_and_statuses(sched):
    gate = threading.Event()
    blocked = sched.submit(None, None, lambda work: gate.wait(TIMEOUT))
    waiting = [sched.submit(None, None, lambda work, i: i, i) for i in range(3)]
    assert seed003.statuses(waiting) == ['pending'] * 3
    entries = [e for e in Tether.registry_snapshot().unpack() if e['id'] == 'sched']
    assert len(entries) == 1
    assert entries[0]['running'] is True
    assert entries[0]['depth'] == 0 and entries[0]['task-type'] == ''
    assert entries[0]['kind'] == 'manager'
    assert set(entries[0]) == {'kind', 'id', 'task-type', 'running', 'thread', 'thread-address',
                               'depth'}
    gate.set()
    assert blocked.result(timeout=TIMEOUT) is True
    assert [f.result(timeout=TIMEOUT) for f in waiting] == [0, 1, 2]
    assert seed003.statuses(waiting) == ['succeeded'] * 3
    sched.stop(DRAIN)
    assert seed003.snapshot('sched') == ['sched running=False on %s' % entries[0]['thread']]


# --- Seed 004: managers per domain, task types, blocking results ------------

def test_004_typical_usage_line_for_line_and_the_other_calls():
    def in_own_thread():
        value = seed004.worker()
        return value, seed004.duck_calls()
    value, (threadsafe, not_found, closed) = seed000.run_in(Tether.Thread, in_own_thread).result()
    assert value == 'rendered on component'
    assert threadsafe == 'rendered on component'
    assert is_error(not_found, Tether.Error.MANAGER_NOT_FOUND)
    assert closed is True


def test_004_typical_usage_refuses_another_task_type(keep):
    manager = keep(Tether.LoopManager.new('component-typed'))
    manager.start(task_type='render')
    coroutine = seed004.some_async_function()
    with pytest.raises(GLib.Error) as info:
        manager.submit(func=coroutine, task_type='update')
    assert is_error(info.value, Tether.Error.UNKNOWN_TASK_TYPE)
    assert coroutine.cr_frame is None          # closed unrun: no "never awaited"


@pytest.fixture
def domains(keep):
    managers = seed004.open_domains()
    for manager in managers.values():
        keep(manager)
    return managers


def test_004_one_manager_per_domain_with_its_task_type(domains):
    render, update = domains['render'], domains['update']
    assert render != update
    assert render.dup_task_type() == 'render' and update.dup_task_type() == 'update'
    assert Tether.LoopManager.get_or_create('render', STRICT) == render
    assert render.submit('render', None, lambda work: 'frame').result(timeout=TIMEOUT) == 'frame'
    assert update.submit('update', None, lambda work: 'tick').result(timeout=TIMEOUT) == 'tick'
    threads = {m.submit(m.dup_task_type(), None, native_id).result(timeout=TIMEOUT)
               for m in (render, update)}
    assert len(threads) == 2


def test_004_the_wrong_task_type_or_none_is_refused(domains):
    wrong = seed004.refused(domains['render'], 'update')
    assert is_error(wrong, Tether.Error.UNKNOWN_TASK_TYPE)
    assert "'render'" in wrong.message and "'update'" in wrong.message
    assert is_error(seed004.refused(domains['render'], None), Tether.Error.UNKNOWN_TASK_TYPE)
    assert is_error(seed004.refused(domains['update'], 'render'), Tether.Error.UNKNOWN_TASK_TYPE)
    assert seed004.refused(domains['render'], 'render') is None


def test_004_submitting_before_start_is_not_running(keep):
    manager = keep(Tether.LoopManager.new('unstarted'))
    assert is_error(seed004.refused(manager, None), Tether.Error.NOT_RUNNING)


def test_004_a_blocking_result_with_a_timeout(domains):
    gate = threading.Event()
    future = domains['update'].submit('update', None, lambda work: gate.wait(TIMEOUT) and 'done')
    with pytest.raises(TimeoutError):
        future.result(timeout=0.05)            # the work goes on
    gate.set()
    assert future.result(timeout=TIMEOUT) == 'done'


def test_004_stop_drain_ends_every_submitted_future(domains):
    futures = seed004.drain_everything(domains['update'], count=8)
    assert all(f.done() for f in futures)
    assert [f.result(timeout=0) for f in futures] == list(range(8))


def test_004_a_wait_on_the_loops_own_thread_is_an_error(domains):
    error = seed004.wait_on_own_loop(domains['render'])
    assert is_error(error, Tether.Error.WOULD_DEADLOCK), error


def test_004_an_exited_threads_managers_are_released(domains):
    address, token = seed004.thread_scoped_manager()
    assert token is None
    assert seed004.registered_on(address, timeout=TIMEOUT) is False


def test_004_a_token_keeps_an_exited_threads_managers_until_dropped(domains):
    address, token = seed004.thread_scoped_manager(keep_token=True)
    assert seed004.registered_on(address, timeout=0.5) is True
    with token:                                # the token still resolves to it
        found = Tether.LoopManager.get_or_create('update', STRICT)
    assert found != domains['update'] and found.is_running()
    del found
    del token
    assert seed004.registered_on(address, timeout=TIMEOUT) is False


def test_004_a_reused_thread_id_inherits_nothing():
    """The seed keys its registry by thread id; Tether by lineage node. A new
    thread that gets a dead thread's id (glibc hands a finished thread's stack,
    and so its id, to the next thread) does not find the dead thread's manager."""
    def gone(native_id):
        deadline = time.monotonic() + TIMEOUT
        while os.path.exists('/proc/self/task/%d' % native_id):
            assert time.monotonic() < deadline
            time.sleep(0.001)

    def register():
        Tether.LoopManager.get_or_create('reuse-probe', FORCE_CREATE)
        return threading.get_ident(), threading.get_native_id()

    def probe():
        try:
            Tether.LoopManager.get_or_create('reuse-probe', STRICT)
            error = None
        except GLib.Error as e:
            error = e
        return threading.get_ident(), threading.get_native_id(), error
    dead, dead_native = in_thread(register).result()
    gone(dead_native)
    for _ in range(20):
        ident, native, error = in_thread(probe).result()
        assert is_error(error, Tether.Error.MANAGER_NOT_FOUND)
        if ident == dead:
            return
        gone(native)
    pytest.skip('the system did not reuse the thread id; the lookups were checked anyway')


# --- Stats and debug output of the seeds ------------------------------------

def test_003_debug_mode_reports_what_asyncios_does(capfd):
    if 'fatal-warnings' in os.environ.get('G_DEBUG', ''):
        pytest.skip('the debug reports are warnings, which G_DEBUG makes fatal')
    stats = seed003.debug_mode()
    err = capfd.readouterr().err
    assert ("Work seed_003_loop_lifecycle.blocking_callback on manager 'sched-debug' ran for "
            in err)
    assert 'over the 20.000 ms slow-work threshold' in err
    assert ("A future for work seed_003_loop_lifecycle.never_retrieved on manager 'sched-debug' "
            "failed and was finalized without anyone reading its error: ValueError: nobody "
            "asked for this result" in err)
    assert err.count("queued on manager 'sched-debug' was dropped unrun: the manager was "
                     "stopped with TETHER_STOP_MODE_CANCEL") == 3
    # blocking_callback, never_retrieved, the busy work of stop_with_queue,
    # its two queued jobs and its timer.
    assert {key: stats[key] for key in ('submitted', 'completed', 'failed', 'cancelled',
                                        'rejected', 'queued', 'running')} == {
        'submitted': 6, 'completed': 2, 'failed': 1, 'cancelled': 3, 'rejected': 0,
        'queued': 0, 'running': 0}
    assert stats['latency-samples'] == 3               # the stop joined the thread
    assert stats['run-time-p99-usec'] >= 3 * seed003.SLOW_USEC


SEED_STATS = {
    'seed_000_worker_threads.py': [
        # The fixture, 4 Tether.Thread workers, 8 pool workers, the isolated
        # worker's inherited one.
        'stats: submitted 14, completed 14, failed 0, cancelled 0, rejected 0'],
    'seed_001_sync_wrapper.py': [
        'stats: submitted 11, completed 11, failed 0, cancelled 0, rejected 0'],
    'seed_002_thread_pool_handler.py': [
        'stats: submitted 32, completed 32, failed 0, cancelled 0, rejected 0'],
    'seed_003_loop_lifecycle.py': [
        'stats: submitted 18, completed 12, failed 0, cancelled 6, rejected 0',
        'debug mode, reports on stderr; stats: submitted 6, completed 2, failed 1, '
        'cancelled 3, rejected 0'],
    'seed_004_domain_managers.py': [
        # The frame, the work waiting on its own loop and what it submitted;
        # 'update' and no task type refused.
        'stats of render: submitted 3, completed 3, failed 0, cancelled 0, rejected 2',
        'stats of update: submitted 6, completed 6, failed 0, cancelled 0, rejected 0'],
}


@pytest.mark.parametrize('script', sorted(SEED_STATS))
def test_seed_scripts_run_and_print_their_stats(script):
    """Each example, run as its docstring says, ends with its managers' stats."""
    env = {name: value for name, value in os.environ.items()
           if name not in ('TETHER_DEBUG', 'G_DEBUG', 'JOURNAL_STREAM')}
    path = os.path.join(os.path.dirname(seed000.__file__), script)
    child = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr
    lines = child.stdout.splitlines()
    assert lines[-len(SEED_STATS[script]):] == SEED_STATS[script]
    reports = re.findall(r'Tether-WARNING \*\*: [0-9:.]+: (.*)', child.stderr)
    if script.startswith('seed_003'):
        assert any(r.startswith("Work __main__.blocking_callback on manager 'sched-debug' ")
                   for r in reports), child.stderr
        assert any(r.startswith("A future for work __main__.never_retrieved on manager "
                                "'sched-debug' failed") for r in reports), child.stderr
        assert sum('dropped unrun' in r for r in reports) == 3, child.stderr
    else:
        assert reports == [], child.stderr
