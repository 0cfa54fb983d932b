#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tether from Python against asyncio's cross-thread mechanisms, in one run.

Every mechanism hands trivial Python work from the main thread to one
event-loop thread: a Tether loop manager's thread on one side, an asyncio
loop running ``loop.run_forever()`` in a ``threading.Thread`` on the other.
The script measures

1. round trip: submit one job and block for its result (median and p99, µs):
   Tether ``submit`` + ``Future.wait``; Tether ``call`` (one GI call, no
   future), sleeping and with both sides spinning; asyncio
   ``run_coroutine_threadsafe`` + ``.result()``; asyncio ``call_soon_threadsafe`` + a
   ``concurrent.futures.Future`` set by the callback + ``.result()``;
2. fire-and-forget throughput (jobs/s): Tether ``post`` vs asyncio
   ``call_soon_threadsafe``, N jobs then one barrier job to know they all ran;
3. throughput with futures (jobs/s): submit N, then wait for all of them;
4. where the fire-and-forget time goes: enqueue N jobs while the loop
   thread is blocked (so nothing contends with the submitter), then release
   it and time the drain (µs/job for each half);
5. and 6. inside the loop, timed there: ``await asyncio.sleep(0)`` and
   ``create_task()`` rates on the manager's asyncio loop (a coroutine
   submitted to the manager) vs the stock ``SelectorEventLoop`` thread.

Section 1 also has the coroutine round trip: submit an ``async def`` to
the manager and block on ``result()``, against ``run_coroutine_threadsafe``.

It prints a table with ratios against the asyncio baseline of each section.
There are no timing assertions: read the figures. The script exits non-zero
only if a job is lost (a counter or result mismatch) or an exception occurs.

Run it against a build tree (PyGObject is only in /usr/bin/python3), with
the override on the path as users get it::

    GI_TYPELIB_PATH=_build/introspection LD_LIBRARY_PATH=_build/src PYTHONPATH=introspection \\
        /usr/bin/python3 tests/bench/tether-bench.py [--quick]

``--quick`` uses tiny iteration counts (a smoke test, a few seconds); the
default mode takes well under a minute on two cores.
``meson test -C _build bench-python-quick`` runs the quick mode.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import os
import platform
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Tether", "1.0")
from gi.repository import GLib, Tether  # noqa: E402


# --------------------------------------------------------------------------
# Sizes

@dataclass(frozen=True)
class Sizes:
    round_trips: int     # measured round trips per mechanism
    fire_jobs: int       # fire-and-forget jobs per mechanism per round
    future_jobs: int     # submit-all-then-wait jobs per mechanism per round
    split_jobs: int      # enqueue-then-drain jobs per mechanism per round
    rounds: int          # mechanisms alternate over this many rounds
    warmup: int          # unmeasured round trips per mechanism before measuring


QUICK = Sizes(round_trips=300, fire_jobs=3_000, future_jobs=1_000, split_jobs=1_000,
              rounds=2, warmup=50)
FULL = Sizes(round_trips=20_000, fire_jobs=40_000, future_jobs=10_000, split_jobs=20_000,
             rounds=5, warmup=1_000)


# Every blocking wait has this deadline, so a lost job fails the run instead of
# hanging it. (A Python exception in a Tether work function is printed by
# PyGObject with PyErr_Print, which keeps the frame, and so the TetherWork, alive
# in sys.last_traceback: the submission never ends as ABANDONED on its own.)
WAIT_S = 30
WAIT_USEC = WAIT_S * 1_000_000
# The spin of the spinning row, on both sides (as tests/tether-bench.c).
SPIN_USEC = 50

# --------------------------------------------------------------------------
# Bookkeeping

class BenchFailure(Exception):
    """A job was lost, returned the wrong result, or raised."""


@dataclass
class Counter:
    """Incremented by jobs; only ever touched by one loop thread at a time."""
    value: int = 0


@dataclass
class Row:
    mechanism: str
    samples_ns: list[int] = field(default_factory=list)   # round-trip latencies
    jobs: int = 0                                          # throughput: jobs done
    elapsed_ns: int = 0                                    # throughput: time taken
    drain_ns: int = 0                                      # split: time to drain


def check_count(what: str, counter: Counter, expected: int) -> None:
    if counter.value != expected:
        raise BenchFailure(f"{what}: {counter.value} jobs ran, expected {expected} "
                           f"({expected - counter.value} lost)")


def check_result(what: str, got: object, expected: int) -> None:
    if got != expected:
        raise BenchFailure(f"{what}: result {got!r}, expected {expected}")


# --------------------------------------------------------------------------
# The two executors

class TetherSide:
    """A started Tether loop manager and its Python work functions."""

    def __init__(self) -> None:
        self.manager = Tether.LoopManager.new("bench-python")
        self.manager.start(None)
        # Both sides spin (the waiter in call(), the manager's thread in its
        # poll) for the spinning row: no thread sleeps between jobs.
        self.spin_manager = Tether.LoopManager.new("bench-python-spin")
        self.spin_manager.set_wait_spin(SPIN_USEC)
        self.spin_manager.set_loop_spin(SPIN_USEC)
        self.spin_manager.start(None)
        self.counter = Counter()

    # Work functions: run on the manager's thread.
    @staticmethod
    def _return_next(work: Tether.Work, arg: int) -> None:
        work.return_int(arg + 1)

    def _count_and_return(self, work: Tether.Work, arg: int) -> None:
        self.counter.value += 1
        work.return_int(arg + 1)

    def _count(self, _arg: object) -> None:
        self.counter.value += 1

    def round_trip(self, i: int) -> int:
        future = self.manager.submit(None, None, self._return_next, i)
        future.wait(WAIT_USEC)              # raises GLib.Error on failure
        return future.get_int()

    @staticmethod
    async def _next_async(work: Tether.Work, arg: int) -> int:
        return arg + 1

    def coroutine_round_trip(self, i: int) -> int:
        return self.manager.submit(None, None, self._next_async, i).result(WAIT_S)

    def in_loop(self, coro_func: Callable, n: int) -> int:
        """Runs coro_func(n) on the manager's asyncio loop; its result (ns)."""
        async def run(work: Tether.Work) -> int:
            return await coro_func(n)
        return self.manager.submit(None, None, run).result(WAIT_S)

    def enqueue(self, n: int) -> None:
        post, count = self.manager.post, self._count
        for i in range(n):
            if not post(None, count, i):
                raise BenchFailure(f"Tether post refused job {i}")

    def fire(self, n: int) -> None:
        self.enqueue(n)
        self.barrier()

    def barrier(self) -> None:
        """Work runs in submission order: when this one is done, all earlier ones are."""
        check_result("Tether barrier", self.round_trip(-1), 0)

    def block(self, entered: threading.Event, gate: threading.Event) -> None:
        """Park the manager's thread (GIL released) until `gate` is set."""
        def park(work: Tether.Work, _arg: object) -> None:
            entered.set()
            gate.wait()
            work.return_int(0)
        self._parked = self.manager.submit(None, None, park, None)

    def unblocked(self) -> None:
        self._parked.wait(WAIT_USEC)
        del self._parked

    def futures(self, n: int) -> None:
        submit, work = self.manager.submit, self._count_and_return
        pending = [submit(None, None, work, i) for i in range(n)]
        for i, future in enumerate(pending):
            future.wait(WAIT_USEC)
            check_result("Tether submit-all", future.get_int(), i + 1)

    # The keyword forms: the fast lane (Tether.PythonFuture, no Work handle).
    @staticmethod
    def _kw_next(arg: int) -> int:
        return arg + 1

    def _kw_count_and_next(self, arg: int) -> int:
        self.counter.value += 1
        return arg + 1

    def kw_round_trip(self, i: int) -> int:
        return self.manager.submit(self._kw_next, i).result(WAIT_S)

    # call(): one GI call per round trip, no future.
    def call_round_trip(self, i: int) -> int:
        return self.manager.call(self._kw_next, i)

    def call_round_trip_spin(self, i: int) -> int:
        return self.spin_manager.call(self._kw_next, i)

    def kw_enqueue(self, n: int) -> None:
        post, count = self.manager.post, self._count
        for i in range(n):
            post(count, i)

    def kw_fire(self, n: int) -> None:
        self.kw_enqueue(n)
        self.kw_barrier()

    def kw_barrier(self) -> None:
        check_result("Tether keyword barrier", self.kw_round_trip(-1), 0)

    def kw_futures(self, n: int) -> None:
        submit, work = self.manager.submit, self._kw_count_and_next
        pending = [submit(work, i) for i in range(n)]
        for i, future in enumerate(pending):
            check_result("Tether keyword submit-all", future.result(WAIT_S), i + 1)

    def close(self) -> None:
        # If PyGObject printed an exception from a work function, sys.last_traceback
        # holds that work's TetherWork; DRAIN would wait for it forever. Dropping it
        # ends the submission (ABANDONED) so the stop can finish. Keep only the
        # repr: the exception's own __traceback__ would keep the TetherWork alive.
        raised = repr(sys.last_value) if hasattr(sys, "last_value") else None
        for name in ("last_type", "last_value", "last_traceback"):
            if hasattr(sys, name):
                delattr(sys, name)
        gc.collect()
        self.manager.stop(Tether.StopMode.DRAIN)
        self.spin_manager.stop(Tether.StopMode.DRAIN)
        if raised is not None:
            raise BenchFailure(f"a Tether work function raised {raised}")


class FloorSide:
    """The floor of any blocking round trip from Python: a plain thread that
    answers over a pair of threading.Events, so two wake-ups and two GIL
    hand-overs, nothing else. No library can beat it."""

    def __init__(self) -> None:
        self.request = threading.Event()
        self.reply = threading.Event()
        self.value = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, name="floor-bench", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            self.request.wait()
            self.request.clear()
            if self.stopping:
                return
            self.value += 1
            self.reply.set()

    def round_trip(self, i: int) -> int:
        self.value = i
        self.request.set()
        if not self.reply.wait(WAIT_S):
            raise BenchFailure("the floor thread did not answer")
        self.reply.clear()
        return self.value

    def close(self) -> None:
        self.stopping = True
        self.request.set()
        self.thread.join(WAIT_S)


class AsyncioSide:
    """An asyncio loop running forever on a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.errors: list[str] = []
        self.loop.set_exception_handler(self._on_exception)
        self.counter = Counter()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,),
                                       name="asyncio-bench", daemon=True)
        self.thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        self.loop.run_forever()

    def _on_exception(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        self.errors.append(context.get("message", "") + ": " + repr(context.get("exception")))

    # Jobs: run on the loop's thread.
    @staticmethod
    async def _next(arg: int) -> int:
        return arg + 1

    async def _count_and_next(self, arg: int) -> int:
        self.counter.value += 1
        return arg + 1

    @staticmethod
    def _set_next(future: concurrent.futures.Future, arg: int) -> None:
        future.set_result(arg + 1)

    def _count(self, _arg: object) -> None:
        self.counter.value += 1

    def coroutine_round_trip(self, i: int) -> int:
        return asyncio.run_coroutine_threadsafe(self._next(i), self.loop).result(WAIT_S)

    def in_loop(self, coro_func: Callable, n: int) -> int:
        """Runs coro_func(n) on the stock loop; its result (ns)."""
        return asyncio.run_coroutine_threadsafe(coro_func(n), self.loop).result(WAIT_S)

    def callback_round_trip(self, i: int) -> int:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._set_next, future, i)
        return future.result(WAIT_S)

    def enqueue(self, n: int) -> None:
        call, count = self.loop.call_soon_threadsafe, self._count
        for i in range(n):
            call(count, i)

    def fire(self, n: int) -> None:
        self.enqueue(n)
        self.barrier()

    def barrier(self) -> None:
        """call_soon callbacks run in FIFO order."""
        check_result("asyncio barrier", self.callback_round_trip(-1), 0)

    def block(self, entered: threading.Event, gate: threading.Event) -> None:
        """Park the loop's thread (GIL released) until `gate` is set."""
        def park() -> None:
            entered.set()
            gate.wait()
        self.loop.call_soon_threadsafe(park)

    def unblocked(self) -> None:
        pass

    def futures(self, n: int) -> None:
        run, coro, loop = asyncio.run_coroutine_threadsafe, self._count_and_next, self.loop
        pending = [run(coro(i), loop) for i in range(n)]
        for i, future in enumerate(pending):
            check_result("asyncio submit-all", future.result(WAIT_S), i + 1)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        if self.errors:
            raise BenchFailure("asyncio loop errors: " + "; ".join(self.errors))


class KeywordSplitSide:
    """The Tether side for the split of keyword posts: its barrier is a
    keyword job, since keyword and C-order jobs are two queues (each FIFO,
    not FIFO with each other)."""

    def __init__(self, tether: TetherSide) -> None:
        self.tether = tether
        self.block = tether.block
        self.unblocked = tether.unblocked
        self.barrier = tether.kw_barrier


# --------------------------------------------------------------------------
# Measurements

def measure_round_trips(mechanisms: dict[str, Callable[[int], int]], sizes: Sizes) -> list[Row]:
    """Alternate mechanisms over rounds so drift hits them all alike."""
    rows = {name: Row(name) for name in mechanisms}
    for name, call in mechanisms.items():
        for i in range(sizes.warmup):
            check_result(name, call(i), i + 1)
    per_round = max(1, sizes.round_trips // sizes.rounds)
    names = list(mechanisms)
    clock = time.perf_counter_ns
    for r in range(sizes.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call, samples = mechanisms[name], rows[name].samples_ns
            for i in range(per_round):
                start = clock()
                got = call(i)
                samples.append(clock() - start)
                if got != i + 1:
                    check_result(name, got, i + 1)
    return list(rows.values())


def measure_throughput(mechanisms: dict[str, tuple[Callable[[int], None], Counter]],
                       jobs: int, sizes: Sizes) -> list[Row]:
    """Each mechanism runs `jobs` jobs per round; its counter must account for every one."""
    rows = {name: Row(name) for name in mechanisms}
    names = list(mechanisms)
    for name, (run, counter) in mechanisms.items():     # warm-up
        counter.value = 0
        run(min(jobs, sizes.warmup))
        check_count(name + " (warm-up)", counter, min(jobs, sizes.warmup))
    clock = time.perf_counter_ns
    for r in range(sizes.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            run, counter = mechanisms[name]
            counter.value = 0
            start = clock()
            run(jobs)
            rows[name].elapsed_ns += clock() - start
            rows[name].jobs += jobs
            check_count(name, counter, jobs)
    return list(rows.values())


def measure_split(mechanisms: dict[str, tuple[TetherSide | AsyncioSide | KeywordSplitSide,
                                              Callable[[int], None], Counter]],
                  sizes: Sizes) -> list[Row]:
    """Enqueue with the loop thread parked, then release it and time the drain.

    Each entry is (side, enqueue function, counter); the side provides
    block(entered, gate), unblocked() and barrier().
    """
    rows = {name: Row(name) for name in mechanisms}
    names = list(mechanisms)
    clock = time.perf_counter_ns
    jobs = sizes.split_jobs
    for r in range(sizes.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            side, enqueue, counter = mechanisms[name]
            counter.value = 0
            entered, gate = threading.Event(), threading.Event()
            side.block(entered, gate)
            try:
                if not entered.wait(WAIT_S):
                    raise BenchFailure(f"{name}: the loop thread never ran the blocking job")
                start = clock()
                enqueue(jobs)
                enqueued = clock()
            finally:
                gate.set()                  # never leave the loop thread parked
            side.unblocked()
            side.barrier()
            rows[name].elapsed_ns += enqueued - start
            rows[name].drain_ns += clock() - enqueued
            rows[name].jobs += jobs
            check_count(name + " (split)", counter, jobs)
    return list(rows.values())


async def sleep0_loop(n: int) -> int:
    """ns taken by n `await asyncio.sleep(0)`, measured on the loop."""
    sleep, clock = asyncio.sleep, time.perf_counter_ns
    start = clock()
    for _ in range(n):
        await sleep(0)
    return clock() - start


async def _nop() -> None:
    pass


async def create_task_loop(n: int) -> int:
    """ns taken to create n tasks of a trivial coroutine and await them all."""
    create, clock = asyncio.get_running_loop().create_task, time.perf_counter_ns
    start = clock()
    tasks = [create(_nop()) for _ in range(n)]
    for task in tasks:
        await task
    return clock() - start


def measure_in_loop(mechanisms: dict[str, Callable[[Callable, int], int]],
                    coro_func: Callable, n: int, sizes: Sizes) -> list[Row]:
    """Each mechanism runs coro_func(n) on its loop, timed there, per round."""
    rows = {name: Row(name) for name in mechanisms}
    names = list(mechanisms)
    for name, run in mechanisms.items():                # warm-up
        run(coro_func, min(n, sizes.warmup))
    for r in range(sizes.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            rows[name].elapsed_ns += mechanisms[name](coro_func, n)
            rows[name].jobs += n
    return list(rows.values())


# --------------------------------------------------------------------------
# Report

def percentile(sorted_ns: list[int], p: float) -> float:
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_ns) - 1, round(p / 100 * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[k]


def name_width(rows: list[Row]) -> int:
    return max(len("mechanism"), *(len(row.mechanism) for row in rows))


def print_latency(title: str, rows: list[Row], baseline: str) -> None:
    stats = {}
    for row in rows:
        s = sorted(row.samples_ns)
        stats[row.mechanism] = (percentile(s, 50) / 1000, percentile(s, 99) / 1000, len(s))
    base_med, base_p99, _ = stats[baseline]
    print(f"\n{title}")
    print(f"  ratio = figure / {baseline}; < 1 means lower latency (faster) than that baseline")
    w = name_width(rows)
    print(f"  {'mechanism':<{w}} {'n':>7} {'median µs':>10} {'ratio':>6} {'p99 µs':>9} {'ratio':>6}")
    for row in rows:
        med, p99, n = stats[row.mechanism]
        print(f"  {row.mechanism:<{w}} {n:>7} {med:>10.1f} {med / base_med:>6.2f} "
              f"{p99:>9.1f} {p99 / base_p99:>6.2f}")


def print_throughput(title: str, rows: list[Row], baseline: str) -> None:
    rate = {row.mechanism: row.jobs / (row.elapsed_ns / 1e9) for row in rows}
    print(f"\n{title}")
    print(f"  ratio = figure / {baseline}; > 1 means more jobs/s (faster) than that baseline")
    w = name_width(rows)
    print(f"  {'mechanism':<{w}} {'jobs':>9} {'jobs/s':>10} {'ratio':>6} {'µs/job':>8}")
    for row in rows:
        r = rate[row.mechanism]
        print(f"  {row.mechanism:<{w}} {row.jobs:>9} {r:>10,.0f} {r / rate[baseline]:>6.2f} "
              f"{1e6 / r:>8.2f}")


def print_split(title: str, rows: list[Row], baseline: str) -> None:
    enqueue = {row.mechanism: row.elapsed_ns / row.jobs / 1000 for row in rows}
    drain = {row.mechanism: row.drain_ns / row.jobs / 1000 for row in rows}
    print(f"\n{title}")
    print(f"  ratio = figure / {baseline}; < 1 means cheaper per job than that baseline")
    w = name_width(rows)
    print(f"  {'mechanism':<{w}} {'jobs':>9} {'enqueue µs/job':>15} {'ratio':>6} "
          f"{'drain µs/job':>13} {'ratio':>6}")
    for row in rows:
        e, d = enqueue[row.mechanism], drain[row.mechanism]
        print(f"  {row.mechanism:<{w}} {row.jobs:>9} {e:>15.2f} {e / enqueue[baseline]:>6.2f} "
              f"{d:>13.2f} {d / drain[baseline]:>6.2f}")


def print_machine(quick: bool) -> None:
    print("Tether (GI, from Python) vs asyncio cross-thread mechanisms: the main thread hands "
          "trivial Python work to one event-loop thread. Each table's ratio column is "
          "figure / that section's asyncio baseline (named above it).")
    print(f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
          f"{platform.machine()}, Python {platform.python_version()}, "
          f"GLib {GLib.MAJOR_VERSION}.{GLib.MINOR_VERSION}.{GLib.MICRO_VERSION}, "
          f"PyGObject {gi.__version__}, Tether {Tether.MAJOR_VERSION}.{Tether.MINOR_VERSION}."
          f"{Tether.MICRO_VERSION}, GIL switch interval {sys.getswitchinterval() * 1000:g} ms"
          f"{', QUICK mode (figures not meaningful)' if quick else ''}")


# --------------------------------------------------------------------------

def run(sizes: Sizes, quick: bool) -> None:
    print_machine(quick)
    tether = TetherSide()
    aio = AsyncioSide()
    floor = FloorSide()
    try:
        rt_base = "asyncio run_coroutine_threadsafe + result"
        rows = measure_round_trips({
            "Tether submit + wait": tether.round_trip,
            "Tether submit async def + result": tether.coroutine_round_trip,
            "Tether submit(fn, i) + result (keyword lane)": tether.kw_round_trip,
            "Tether call(fn, i)": tether.call_round_trip,
            f"Tether call(fn, i), both sides spin {SPIN_USEC} us": tether.call_round_trip_spin,
            rt_base: aio.coroutine_round_trip,
            "asyncio call_soon_threadsafe + cf.Future": aio.callback_round_trip,
            "floor: threading.Event ping-pong": floor.round_trip,
        }, sizes)
        print_latency("1. Round trip: submit one job from the main thread, block for its result",
                      rows, rt_base)

        ff_base = "asyncio call_soon_threadsafe"
        rows = measure_throughput({
            "Tether post": (tether.fire, tether.counter),
            "Tether post(fn, i) (keyword lane)": (tether.kw_fire, tether.counter),
            ff_base: (aio.fire, aio.counter),
        }, sizes.fire_jobs, sizes)
        print_throughput("2. Fire-and-forget: N jobs (counter += 1), then one barrier job",
                         rows, ff_base)

        rows = measure_throughput({
            "Tether submit all, then wait all": (tether.futures, tether.counter),
            "Tether submit(fn, i) all, result all (keyword lane)": (tether.kw_futures,
                                                                    tether.counter),
            "asyncio run_coroutine_threadsafe all, result all": (aio.futures, aio.counter),
        }, sizes.future_jobs, sizes)
        print_throughput("3. Throughput with futures: submit N jobs (counter += 1), then wait "
                         "for each", rows, rows[2].mechanism)

        rows = measure_split({
            "Tether post": (tether, tether.enqueue, tether.counter),
            "Tether post(fn, i) (keyword lane)": (KeywordSplitSide(tether), tether.kw_enqueue,
                                                  tether.counter),
            ff_base: (aio, aio.enqueue, aio.counter),
        }, sizes)
        print_split("4. Fire-and-forget split: enqueue N jobs while the loop thread is parked, "
                    "then release it and drain", rows, ff_base)

        loop_base = "stock SelectorEventLoop thread"
        loops: dict[str, Callable[[Callable, int], int]] = {
            "Tether manager's asyncio loop": tether.in_loop, loop_base: aio.in_loop}
        rows = measure_in_loop(loops, sleep0_loop, sizes.future_jobs * 5, sizes)
        print_throughput("5. Inside the loop: `await asyncio.sleep(0)` in one coroutine "
                         "(jobs = sleeps)", rows, loop_base)
        rows = measure_in_loop(loops, create_task_loop, sizes.future_jobs, sizes)
        print_throughput("6. Inside the loop: create_task() of a trivial coroutine, then await "
                         "each (jobs = tasks)", rows, loop_base)
    finally:
        try:
            tether.close()
        finally:
            floor.close()
            aio.close()
    print("\nall jobs accounted for")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny iteration counts: a smoke test, no meaningful figures")
    args = parser.parse_args()
    start = time.perf_counter_ns()
    try:
        run(QUICK if args.quick else FULL, args.quick)
    except Exception as failure:
        # Cleanup can fail too; report every failure in the chain, earliest first.
        chain: list[BaseException] = []
        link: BaseException | None = failure
        while link is not None:
            chain.insert(0, link)
            link = link.__context__
        for error in chain:
            if not isinstance(error, BenchFailure):
                traceback.print_exception(error, chain=False)
            print(f"FAILED: {error}" if isinstance(error, BenchFailure)
                  else f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"total {(time.perf_counter_ns() - start) / 1e9:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
