// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Starting, stopping (DRAIN and CANCEL) and restarting a manager from
// JavaScript, and the property notifications that come with it.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    WAIT_USEC, assert, assertDeepEqual, assertEqual, assertGError, assertMatch,
    assertNotEqual, assertRejectsGError, assertThrowsGError, runTests
} from './harness.js';
import {MAIN_THREAD_NAME, TETHER_ERROR, submitValueAsync} from './common.js';

const IO_ERROR = Gio.IOErrorEnum;

async function testProperties() {
    const manager = new Tether.LoopManager({id: 'props'});
    try {
        assertEqual(manager.get_id(), 'props');
        assertEqual(manager.id, 'props');
        assertEqual(manager.is_running(), false);
        assertEqual(manager.running, false);
        assertEqual(manager.dup_task_type(), null);

        const context = manager.get_context();
        assert(context instanceof GLib.MainContext, 'get_context() is a GLib.MainContext');

        // Stopping a manager that never started does nothing.
        manager.stop(Tether.StopMode.DRAIN);
        assertEqual(manager.is_running(), false);

        manager.start('kind');
        assertEqual(manager.is_running(), true);
        assertEqual(manager.running, true);
        assertEqual(manager.task_type, 'kind');

        // Not inside any manager's work: there is no current manager.
        assertEqual(Tether.LoopManager.ref_current(), null);

        // A generated id when none is given.
        const anonymous = new Tether.LoopManager();
        assert(anonymous.get_id().length > 0, 'a generated id');
        assertNotEqual(anonymous.get_id(), manager.get_id());
    } finally {
        manager.stop(Tether.StopMode.CANCEL);
    }
    // Stopping twice is fine.
    manager.stop(Tether.StopMode.CANCEL);
    assertEqual(manager.is_running(), false);
}

async function testNotifyRunning() {
    const manager = new Tether.LoopManager({id: 'notify'});
    const running = [];
    const taskTypes = [];
    const threads = new Set();
    const ids = [
        manager.connect('notify::running', object => {
            running.push(object.running);
            threads.add(TetherTest.get_thread_name());
        }),
        manager.connect('notify::task-type', object => {
            taskTypes.push(object.task_type);
            threads.add(TetherTest.get_thread_name());
        }),
    ];

    try {
        manager.start('first');
        assertDeepEqual(running, [true], 'after start');
        manager.stop(Tether.StopMode.DRAIN);
        assertDeepEqual(running, [true, false], 'after stop');

        manager.start('second');
        manager.stop(Tether.StopMode.CANCEL);
        assertDeepEqual(running, [true, false, true, false], 'after a restart');
        assert(taskTypes.includes('first') && taskTypes.includes('second'),
            `notify::task-type for both types, got ${JSON.stringify(taskTypes)}`);

        // A failed start notifies nothing.
        manager.start(null);
        const before = running.length;
        assertThrowsGError(() => manager.start(null), TETHER_ERROR, Tether.Error.ALREADY_RUNNING);
        assertEqual(running.length, before);

        // Emitted on the thread that called start or stop: this one.
        assertDeepEqual([...threads], [MAIN_THREAD_NAME], 'handler threads');
    } finally {
        manager.stop(Tether.StopMode.CANCEL);
        ids.forEach(id => manager.disconnect(id));
    }
}

async function testStopDrain() {
    const manager = new Tether.LoopManager({id: 'drain'});
    manager.start(null);

    const futures = [];
    for (let i = 0; i < 20; i++)
        futures.push(TetherTest.submit_value(manager, null, i, 20));
    const results = [];
    for (let i = 0; i < 5; i++)
        results.push(submitValueAsync(manager, null, `async ${i}`, 20));

    manager.stop(Tether.StopMode.DRAIN);
    assertEqual(manager.is_running(), false);

    // Stop returned after all of it ran.
    futures.forEach((future, i) => {
        assertEqual(future.get_status(), Tether.FutureStatus.SUCCEEDED, `future ${i}`);
        assertEqual(future.get_value(), i, `future ${i}`);
    });
    (await Promise.all(results)).forEach(([ok, value], i) => {
        assertEqual(ok, true);
        assertEqual(value, `async ${i}`);
    });

    assertThrowsGError(() => TetherTest.submit_value(manager, null, 1, 0),
        TETHER_ERROR, Tether.Error.NOT_RUNNING, 'after the stop');
}

async function testStopCancel() {
    const manager = new Tether.LoopManager({id: 'stopcanc'});
    manager.start(null);

    // In flight: its function has run (the marker after it has ended).
    const inFlight = TetherTest.submit_until_cancelled(manager, null);
    assertEqual(TetherTest.submit_value(manager, null, 'marker', 0).wait(WAIT_USEC, null), true);
    // Holds the thread, so what follows stays queued. Waits for it to start:
    // while it is still queued, stop(CANCEL) races with the manager's thread,
    // which can start work queued behind it before the stop has cancelled
    // that work (a Tether bug this test does not cover).
    const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
    assertEqual(TetherTest.wait_started(blocker, WAIT_USEC), true, 'the blocker started');
    const queued = [];
    for (let i = 0; i < 10; i++)
        queued.push(TetherTest.submit_value(manager, null, i, 0));
    const queuedAsync = [];
    for (let i = 0; i < 3; i++)
        queuedAsync.push(submitValueAsync(manager, null, i, 0));

    manager.stop(Tether.StopMode.CANCEL);
    assertEqual(manager.is_running(), false);

    queued.forEach((future, i) => {
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED, `queued ${i}`);
        const error = assertGError(future.dup_error(), IO_ERROR, IO_ERROR.CANCELLED, `queued ${i}`);
        assertMatch(error.message, /CANCEL/, `queued ${i}: the message names the stop`);
    });
    for (const [i, promise] of queuedAsync.entries())
        await assertRejectsGError(promise, IO_ERROR, IO_ERROR.CANCELLED, `queued async ${i}`);

    assertEqual(blocker.get_status(), Tether.FutureStatus.CANCELLED, 'blocker');
    assertEqual(blocker.dup_error().message, 'TetherTest blocking work saw its cancellable fire');
    assertEqual(inFlight.get_status(), Tether.FutureStatus.CANCELLED, 'in flight');
    const error = assertGError(inFlight.dup_error(), IO_ERROR, IO_ERROR.CANCELLED, 'in flight');
    assertEqual(error.message, 'TetherTest work saw its cancellable fire');
}

async function testPendingTimers() {
    // Timers an hour away never fire here: cancel() and stop(DRAIN) end them.
    // The work is C (JavaScript functions are refused at submission).
    const manager = new Tether.LoopManager({id: 'timers'});
    manager.start(null);
    const HOUR_USEC = 3600 * 1000 * 1000;
    const later = () => TetherTest.submit_value_at(manager, null, 'never',
        GLib.get_monotonic_time() + HOUR_USEC);

    // Cancelling a pending timer ends it at once.
    const cancelled = later();
    assertEqual(cancelled.get_status(), Tether.FutureStatus.PENDING);
    cancelled.cancel();
    assertEqual(cancelled.get_status(), Tether.FutureStatus.CANCELLED);

    // A due timer runs its C work and returns the value.
    const due = TetherTest.submit_value_at(manager, null, 'due', GLib.get_monotonic_time());
    await due.wait_async(null);
    assertEqual(due.get_value(), 'due');

    // stop(DRAIN) ends timers that have not fired yet cancelled.
    const pending = [later(), later()];
    manager.stop(Tether.StopMode.DRAIN);
    for (const [i, future] of pending.entries()) {
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED, `timer ${i}`);
        const error = assertGError(future.dup_error(), IO_ERROR, IO_ERROR.CANCELLED, `timer ${i}`);
        assertMatch(error.message, /timer/, `timer ${i}: the message names the timer`);
    }
}

async function testRestart() {
    const manager = new Tether.LoopManager({id: 'restart'});
    try {
        manager.start('a');
        let future = TetherTest.submit_thread_name(manager, 'a');
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 'tether:restart');
        manager.stop(Tether.StopMode.DRAIN);

        // Again, with another task type.
        manager.start('b');
        assertEqual(manager.dup_task_type(), 'b');
        assertThrowsGError(() => TetherTest.submit_value(manager, 'a', 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE);
        future = TetherTest.submit_thread_name(manager, 'b');
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 'tether:restart');
        const [ok, value] = await submitValueAsync(manager, 'b', 'second run', 5);
        assertEqual(ok, true);
        assertEqual(value, 'second run');
        manager.stop(Tether.StopMode.CANCEL);

        // And a third time, accepting anything.
        manager.start(null);
        assertEqual(manager.dup_task_type(), null);
        future = TetherTest.submit_value(manager, 'whatever', 3, 0);
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 3);
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
}

runTests([
    ['id, running, task-type and context', testProperties],
    ['notify::running fires when JS starts and stops', testNotifyRunning],
    ['stop(DRAIN) runs queued work', testStopDrain],
    ['stop(CANCEL) cancels queued and running work', testStopCancel],
    ['pending timers end cancelled by cancel() and stop(DRAIN)', testPendingTimers],
    ['a stopped manager starts again', testRestart],
]);
