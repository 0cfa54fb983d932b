// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Errors, rejections, timeouts and cancellation, as JavaScript sees them:
// GLib.Error exceptions and promise rejections with the right domain, code
// and message.
//
// Not here: WOULD_DEADLOCK, which needs a Future.wait() on the manager's own
// thread, where JavaScript never runs; the C suite covers it.

import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    WAIT_USEC, assert, assertEqual, assertGError, assertMatch, assertRejectsGError,
    assertThrowsGError, runTests
} from './harness.js';
import {TETHER_ERROR, submitValueAsync, withManager} from './common.js';

const IO_ERROR = Gio.IOErrorEnum;

// What TetherTest's cancellable work ends with once it ran and saw its
// cancellable fire; a cancellation before work starts ends it with Tether's
// own message instead.
const RUNNING_CANCELLED = 'TetherTest work saw its cancellable fire';
const BLOCKING_CANCELLED = 'TetherTest blocking work saw its cancellable fire';
const QUEUED_CANCELLED = /was cancelled before it started/;

async function testWorkError() {
    await withManager('errors', null, async manager => {
        let future = TetherTest.submit_error(manager, null, 'the work failed: bad input');
        const error = assertThrowsGError(() => future.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.FAILED);
        assertEqual(error.message, 'the work failed: bad input');
        assertEqual(error.domain, Gio.io_error_quark());
        assertEqual(error.code, Gio.IOErrorEnum.FAILED);
        assertEqual(future.get_status(), Tether.FutureStatus.FAILED);
        assertEqual(future.is_done(), true);

        const copy = future.dup_error();
        assertGError(copy, IO_ERROR, IO_ERROR.FAILED, 'dup_error()');
        assertEqual(copy.message, 'the work failed: bad input');

        // The same error again, from the done future, and through wait_async().
        assertThrowsGError(() => future.wait(0, null), IO_ERROR, IO_ERROR.FAILED, 'second wait');
        future = TetherTest.submit_error(manager, null, 'async failure');
        const rejected = await assertRejectsGError(future.wait_async(null), IO_ERROR, IO_ERROR.FAILED);
        assertEqual(rejected.message, 'async failure');
        assertEqual(future.get_status(), Tether.FutureStatus.FAILED);
    });
}

async function testNotRunning() {
    const manager = new Tether.LoopManager({id: 'notrun'});
    assertEqual(manager.is_running(), false);

    function checkRejected(when) {
        const error = assertThrowsGError(() => TetherTest.submit_value(manager, null, 1, 0),
            TETHER_ERROR, Tether.Error.NOT_RUNNING, `submit ${when}`);
        assertMatch(error.message, /notrun/, 'the message names the manager');
        assertThrowsGError(() => TetherTest.submit_error(manager, null, 'never'),
            TETHER_ERROR, Tether.Error.NOT_RUNNING, `submit_error ${when}`);
        return submitValueAsync(manager, null, 1, 0).then(
            () => {
                throw new Error(`submit_async ${when} succeeded`);
            },
            asyncError => assertGError(asyncError, TETHER_ERROR, Tether.Error.NOT_RUNNING,
                `submit_async ${when}`));
    }

    await checkRejected('before start');

    manager.start(null);
    const future = TetherTest.submit_value(manager, null, 1, 0);
    assertEqual(future.wait(WAIT_USEC, null), true);
    manager.stop(Tether.StopMode.DRAIN);
    assertEqual(manager.is_running(), false);

    await checkRejected('after stop');
}

async function testAlreadyRunning() {
    await withManager('already', 'render', manager => {
        const error = assertThrowsGError(() => manager.start(null),
            TETHER_ERROR, Tether.Error.ALREADY_RUNNING);
        assert(error.message.length > 0);
        // The failed start changed nothing.
        assertEqual(manager.dup_task_type(), 'render');
        assertEqual(manager.is_running(), true);
    });
}

async function testUnknownTaskType() {
    await withManager('typed', 'render', async manager => {
        assertEqual(manager.dup_task_type(), 'render');
        assertEqual(manager.task_type, 'render');

        let error = assertThrowsGError(() => TetherTest.submit_value(manager, 'parse', 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE);
        assert(error.matches(Tether.error_quark(), Tether.Error.UNKNOWN_TASK_TYPE));
        assertMatch(error.message, /render/, 'the message names the accepted type');
        assertMatch(error.message, /parse/, 'the message names the submitted type');

        // No task type at all is refused by a typed manager too.
        assertThrowsGError(() => TetherTest.submit_value(manager, null, 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE, 'no task type');

        error = await assertRejectsGError(submitValueAsync(manager, 'parse', 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE, 'submit_async');
        assertMatch(error.message, /parse/);

        // The right type is accepted.
        const future = TetherTest.submit_value(manager, 'render', 'drawn', 0);
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 'drawn');
        const [ok, value] = await submitValueAsync(manager, 'render', 5, 0);
        assertEqual(ok, true);
        assertEqual(value, 5);
    });
}

async function testTimeout() {
    await withManager('timeout', null, manager => {
        // The blocking work holds the manager's thread, so the value cannot
        // finish before it is cancelled: the timeout does not depend on speed.
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        assertEqual(TetherTest.wait_started(blocker, WAIT_USEC), true, 'the blocker started');
        const future = TetherTest.submit_value(manager, null, 'late', 0);

        const error = assertThrowsGError(() => future.wait(10000, null),
            TETHER_ERROR, Tether.Error.TIMED_OUT);
        assertMatch(error.message, /timeout/, 'the message names the manager');
        assertEqual(future.get_status(), Tether.FutureStatus.PENDING);
        assertThrowsGError(() => future.wait(0, null), TETHER_ERROR, Tether.Error.TIMED_OUT, 'poll');

        // The work still completes afterwards.
        blocker.cancel();
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 'late');
        const blockerError = assertThrowsGError(() => blocker.wait(WAIT_USEC, null),
            IO_ERROR, IO_ERROR.CANCELLED);
        assertEqual(blockerError.message, BLOCKING_CANCELLED);
        assertEqual(blocker.get_status(), Tether.FutureStatus.CANCELLED);
    });
}

async function testTimeoutThenDelayedValue() {
    await withManager('delayed', null, async manager => {
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        // Finishes from a timeout on the manager's context, after the blocker.
        const future = TetherTest.submit_value(manager, null, 99, 50);
        assertThrowsGError(() => future.wait(10000, null), TETHER_ERROR, Tether.Error.TIMED_OUT);
        const waiting = future.wait_async(null);
        blocker.cancel();
        assertEqual(await waiting, true);
        assertEqual(future.get_value(), 99);
        assertEqual(blocker.get_status(), Tether.FutureStatus.CANCELLED);
    });
}

async function testCancelRunningWork() {
    await withManager('cancel', null, async manager => {
        const future = TetherTest.submit_until_cancelled(manager, null);
        // Work functions run in submission order: once this later one has
        // ended, the first one's function has run and its work is in flight.
        const marker = TetherTest.submit_value(manager, null, 'marker', 0);
        assertEqual(marker.wait(WAIT_USEC, null), true);
        assertEqual(future.get_status(), Tether.FutureStatus.PENDING);

        future.cancel();
        const error = await assertRejectsGError(future.wait_async(null),
            IO_ERROR, IO_ERROR.CANCELLED);
        assertEqual(error.message, RUNNING_CANCELLED, 'the running work saw its cancellable');
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED);
        assertGError(future.dup_error(), IO_ERROR, IO_ERROR.CANCELLED, 'dup_error()');

        // Cancelling a done future changes nothing.
        future.cancel();
        marker.cancel();
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED);
        assertEqual(marker.get_status(), Tether.FutureStatus.SUCCEEDED);
        assertEqual(marker.get_value(), 'marker');
    });
}

async function testCancelQueuedWork() {
    await withManager('queued', null, manager => {
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        assertEqual(TetherTest.wait_started(blocker, WAIT_USEC), true, 'the blocker started');
        const queued = TetherTest.submit_value(manager, null, 'never', 0);

        // Work that has not started ends at once, while the thread is busy.
        queued.cancel();
        assertEqual(queued.get_status(), Tether.FutureStatus.CANCELLED);
        const error = assertThrowsGError(() => queued.wait(0, null), IO_ERROR, IO_ERROR.CANCELLED);
        assertMatch(error.message, QUEUED_CANCELLED);
        assertEqual(blocker.get_status(), Tether.FutureStatus.PENDING);

        blocker.cancel();
        assertThrowsGError(() => blocker.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.CANCELLED);
        assertEqual(blocker.get_status(), Tether.FutureStatus.CANCELLED);
    });
}

async function testCancellableWithSubmitAsync() {
    await withManager('cancelbl', null, async manager => {
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        assertEqual(TetherTest.wait_started(blocker, WAIT_USEC), true, 'the blocker started');

        // Cancelled while queued behind the blocker: ends at once.
        const cancellable = new Gio.Cancellable();
        const pending = submitValueAsync(manager, null, 'never', 0, cancellable);
        cancellable.cancel();
        const error = await assertRejectsGError(pending, IO_ERROR, IO_ERROR.CANCELLED);
        assertMatch(error.message, QUEUED_CANCELLED);
        assertEqual(blocker.get_status(), Tether.FutureStatus.PENDING,
            'the cancellation did not wait for the busy thread');

        // Already cancelled when submitted: never runs.
        await assertRejectsGError(submitValueAsync(manager, null, 'never', 0, cancellable),
            IO_ERROR, IO_ERROR.CANCELLED, 'pre-cancelled');

        blocker.cancel();
        assertThrowsGError(() => blocker.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.CANCELLED);

        // A cancellable that never fires changes nothing.
        const [ok, value] = await submitValueAsync(manager, null, 'kept', 5, new Gio.Cancellable());
        assertEqual(ok, true);
        assertEqual(value, 'kept');
    });
}

async function testCancelWaitAsyncOnly() {
    await withManager('waitcanc', null, async manager => {
        const future = TetherTest.submit_until_cancelled(manager, null);
        const cancellable = new Gio.Cancellable();
        const waiting = future.wait_async(cancellable);
        cancellable.cancel();

        // The wait ends, cancelled; the work goes on.
        await assertRejectsGError(waiting, IO_ERROR, IO_ERROR.CANCELLED);
        assertEqual(future.get_status(), Tether.FutureStatus.PENDING);

        future.cancel();
        await assertRejectsGError(future.wait_async(null), IO_ERROR, IO_ERROR.CANCELLED);
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED);
    });
}

runTests([
    ['a work error is a Gio.IOErrorEnum.FAILED GLib.Error', testWorkError],
    ['NOT_RUNNING before start and after stop', testNotRunning],
    ['ALREADY_RUNNING on a second start', testAlreadyRunning],
    ['UNKNOWN_TASK_TYPE from a typed manager', testUnknownTaskType],
    ['TIMED_OUT leaves the work running to completion', testTimeout],
    ['a delayed value outlives a timed-out wait', testTimeoutThenDelayedValue],
    ['Future.cancel() on running work ends it CANCELLED', testCancelRunningWork],
    ['Future.cancel() on queued work ends it at once', testCancelQueuedWork],
    ['a Gio.Cancellable passed to submit_async', testCancellableWithSubmitAsync],
    ['cancelling wait_async() cancels the wait, not the work', testCancelWaitAsyncOnly],
]);
