// SPDX-License-Identifier: LGPL-2.1-or-later
//
// LoopManager.stop_async() (promisified and with a callback) and progress
// (Future::progress) from JavaScript: issue 17, items 1 and 5. Every wait
// has a deadline (the harness's per-case timeout); nothing sleeps.

import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    assert, assertEqual, assertRejectsGError, drainMainContext, runTests
} from './harness.js';
import './common.js';

const IO_ERROR = Gio.IOErrorEnum;

Gio._promisify(Tether.LoopManager.prototype, 'stop_async', 'stop_finish');

function started(id) {
    const manager = new Tether.LoopManager({id});
    manager.start(null);
    return manager;
}

async function testStopAsyncPromise() {
    const manager = started('js-stop-async');
    const value = TetherTest.submit_value(manager, null, 5, 0);
    const running = TetherTest.submit_until_cancelled(manager, null);
    const stopping = manager.stop_async(Tether.StopMode.CANCEL, null);
    // The stop began inside the call.
    assertEqual(manager.is_running(), false);
    assertEqual(await stopping, true);
    // Queued work may have run or ended cancelled; it has ended.
    assertEqual(value.is_done(), true);
    assertEqual(running.get_status(), Tether.FutureStatus.CANCELLED);
    // A stopped manager: resolves true too.
    assertEqual(await manager.stop_async(Tether.StopMode.DRAIN, null), true);
    manager.stop(Tether.StopMode.DRAIN);
}

async function testStopAsyncCallbackNeverInsideTheCall() {
    const manager = new Tether.LoopManager({id: 'js-stop-cb'});
    let inCall = true;
    let insideCall = null;
    const done = new Promise((resolve, reject) => {
        manager.stop_async(Tether.StopMode.DRAIN, null, (source, result) => {
            try {
                insideCall = inCall;
                resolve(source.stop_finish(result));
            } catch (error) {
                reject(error);
            }
        });
    });
    inCall = false;
    assertEqual(await done, true);
    assertEqual(insideCall, false, 'the callback ran inside stop_async()');
}

async function testCancellableAbandonsTheWaitOnly() {
    const manager = started('js-stop-cancellable');
    const running = TetherTest.submit_until_cancelled(manager, null);
    const cancellable = new Gio.Cancellable();
    const stopping = manager.stop_async(Tether.StopMode.DRAIN, cancellable);
    cancellable.cancel();
    await assertRejectsGError(stopping, Gio.io_error_quark(), IO_ERROR.CANCELLED);
    // Still draining: the work was not cancelled.
    assertEqual(manager.is_running(), false);
    assertEqual(running.is_done(), false);
    // A CANCEL stop ends it.
    assertEqual(await manager.stop_async(Tether.StopMode.CANCEL, null), true);
    assertEqual(running.get_status(), Tether.FutureStatus.CANCELLED);
    manager.stop(Tether.StopMode.DRAIN);
}

async function testProgressCoalesced() {
    const manager = started('js-progress');
    const N = 100000;
    const future = TetherTest.submit_progress(manager, null, N);
    const seen = [];
    let afterOutcome = false;
    let outcome = false;
    let lastSeen = null;
    const last = new Promise(resolve => {
        lastSeen = resolve;
    });
    future.connect('progress', (_future, progress) => {
        if (outcome)
            afterOutcome = true;
        const value = progress.unpack();
        seen.push(value);
        if (value === N - 1)
            lastSeen();
    });
    // Connected after the submission: if the work made every report before
    // the handler was there, none is delivered, and dup_progress() has the
    // last one.
    const latest = future.dup_progress();
    if (latest !== null && latest.unpack() === N - 1)
        lastSeen();
    await last;
    assert(seen.length < N / 10, `${seen.length} deliveries for ${N} reports`);
    for (let i = 1; i < seen.length; i++)
        assert(seen[i] > seen[i - 1], 'deliveries in order');

    future.cancel();
    await assertRejectsGError(future.wait_async(null), Gio.io_error_quark(), IO_ERROR.CANCELLED);
    outcome = true;
    await drainMainContext();
    assertEqual(afterOutcome, false, 'progress after the outcome');
    assertEqual(future.dup_progress().unpack(), N - 1);
    manager.stop(Tether.StopMode.DRAIN);
}

async function testDupProgressAfterTheEnd() {
    const manager = started('js-dup-progress');
    try {
        const future = TetherTest.submit_progress(manager, null, 3);
        future.cancel();
        await assertRejectsGError(future.wait_async(null), Gio.io_error_quark(),
            IO_ERROR.CANCELLED);
        assertEqual(future.get_status(), Tether.FutureStatus.CANCELLED);
        // Cancelled before it ran, or after its reports.
        const progress = future.dup_progress();
        assert(progress === null || progress.unpack() === 2, `latest: ${progress}`);
    } finally {
        manager.stop(Tether.StopMode.CANCEL);
    }
}

runTests([
    ['await stop_async() stops, and resolves true for a stopped manager', testStopAsyncPromise],
    ['the stop_async() callback never runs inside the call', testStopAsyncCallbackNeverInsideTheCall],
    ['the cancellable abandons the wait, not the stop', testCancellableAbandonsTheWaitOnly],
    ['progress is coalesced and never follows the outcome', testProgressCoalesced],
    ['dup_progress() once the work has ended', testDupProgressAfterTheEnd],
]);
