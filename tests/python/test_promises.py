# SPDX-License-Identifier: LGPL-2.1-or-later
"""Promises and combinators from Python: Tether.Promise, Future.all/any/
first, then/catch/finally_, and their interplay with asyncio.gather and
concurrent.futures.wait. Every blocking call has a timeout."""

import asyncio
import concurrent.futures as cf
import threading

import gi
import pytest

gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

T = 30


@pytest.fixture
def manager():
    m = Tether.LoopManager.new(None)
    m.start(None)
    yield m
    if m.is_running():
        m.stop_within(T * 1_000_000)


def resolved(value):
    p = Tether.Promise.new()
    p.resolve(value)
    return p.get_future()


@pytest.mark.parametrize('value', [True, 7, 1 << 40, 2.5, 'text', None,
                                   GLib.Variant('s', 'v'), {'any': 'object'}])
def test_resolve_python_values(value):
    got = resolved(value).result(T)
    if isinstance(value, GLib.Variant):
        assert got.unpack() == 'v'
    else:
        assert got == value


def test_resolve_from_another_thread():
    p = Tether.Promise.new()
    threading.Timer(0.01, p.resolve, ('later',)).start()
    assert p.get_future().result(T) == 'later'


def test_reject_with_an_exception_or_error():
    p = Tether.Promise.new()
    p.reject(ValueError('bad value'))
    with pytest.raises(Tether.FailedError, match='bad value'):
        p.get_future().result(T)
    q = Tether.Promise.new()
    q.reject(GLib.Error.new_literal(Tether.error_quark(), 'gone', Tether.Error.NOT_RUNNING))
    with pytest.raises(Tether.NotRunningError):
        q.get_future().result(T)
    with pytest.raises(TypeError):
        Tether.Promise.new().reject('not an error')


def test_dropped_promise_abandons_its_future():
    p = Tether.Promise.new()
    f = p.get_future()
    del p
    with pytest.raises(Tether.AbandonedError):
        f.result(T)


def test_cancel_ends_the_future_and_tells_the_producer():
    p = Tether.Promise.new()
    fired = []
    p.get_cancellable().connect(lambda *a: fired.append(True))
    f = p.get_future()
    assert f.cancel()
    assert f.cancelled()
    assert fired == [True]
    p.resolve(1)           # ignored, not an error
    assert f.cancelled()


def test_asyncio_gather_and_cf_wait():
    async def main():
        p = Tether.Promise.new()
        threading.Timer(0.01, p.resolve, (9,)).start()
        return await asyncio.gather(p.get_future(), resolved(1),
                                    Tether.Future.any([resolved(2)], Tether.CombineFlags.NONE))
    assert asyncio.run(main()) == [9, 1, 2]
    done, pending = cf.wait([resolved(1), resolved(2)], timeout=T)
    assert len(done) == 2 and not pending


def test_all_any_first(manager):
    def work(w, x):
        return x
    a = manager.submit(None, None, work, 1)
    p = Tether.Promise.new()
    all_ = Tether.Future.all([a, p.get_future()], Tether.CombineFlags.NONE)
    p.resolve(2)
    assert all_.result(T) is True
    assert [a.result(T), p.get_future().result(T)] == [1, 2]

    bad = Tether.Promise.new()
    bad.reject(ValueError('one'))
    slow = Tether.Promise.new()
    any_ = Tether.Future.any([bad.get_future(), slow.get_future()], Tether.CombineFlags.NONE)
    slow.resolve('two')
    assert any_.result(T) == 'two'

    pending = Tether.Promise.new()
    first = Tether.Future.first([pending.get_future(), resolved('x')],
                                Tether.CombineFlags.CANCEL_REST)
    assert first.result(T) == 'x'
    assert pending.get_future().cancelled()


def test_propagate_cancel_only_when_asked():
    for flags, expect in ((Tether.CombineFlags.PROPAGATE_CANCEL, True),
                          (Tether.CombineFlags.NONE, False)):
        ps = [Tether.Promise.new() for _ in range(2)]
        all_ = Tether.Future.all([p.get_future() for p in ps], flags)
        all_.cancel()
        assert all_.cancelled()
        assert [p.get_future().cancelled() for p in ps] == [expect, expect]


def test_then_runs_on_the_manager_thread(manager):
    where = []

    def double(inp, out):
        where.append(Tether.LoopManager.ref_current())
        out.resolve(inp.result() * 2)
    f = resolved(21).then(manager, None, double)
    assert f.result(T) == 42
    assert where == [manager]


def test_catch_and_finally_in_a_context():
    context = GLib.MainContext.new()
    context.push_thread_default()
    try:
        bad = Tether.Promise.new()
        bad.reject(ValueError('boom'))
        caught = bad.get_future().catch(None, None,
                                        lambda inp, out: out.resolve('recovered'))
        seen = []

        def finally_(inp, out):
            seen.append(inp.done())
            out.complete_from(inp)
        passed = caught.finally_(None, None, finally_)
        assert not seen              # never inside the creating call
        deadline = GLib.get_monotonic_time() + T * 1_000_000
        while not passed.done():
            assert GLib.get_monotonic_time() < deadline
            context.iteration(True)
        assert passed.result(0) == 'recovered'
        assert seen == [True]
    finally:
        context.pop_thread_default()
