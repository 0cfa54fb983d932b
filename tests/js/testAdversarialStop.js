// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Adversarial stops from JavaScript, as a new user would write them: stops
// and restarts from wait_async() continuations and from notify::running
// handlers, while C work is running, queued and deferred; dropping a
// manager with asynchronous submissions pending. The harness fails a case
// that does not finish in time.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';
import System from 'system';

import {WAIT_USEC, assert, assertEqual, assertRejectsGError, runTests} from './harness.js';
import {submitValueAsync} from './common.js';

const IO_ERROR = Gio.IOErrorEnum;

function intValue(n) {
    const value = new GObject.Value();
    value.init(GObject.TYPE_INT);
    value.set_int(n);
    return value;
}

// A CANCEL stop made in the continuation of an awaited wait_async(): the
// blocking work sees its cancellable, the deferred work and the queued work
// end cancelled, and each pending wait_async() promise settles. Then a
// restart from the next continuation.
async function testStopInContinuation() {
    const manager = new Tether.LoopManager({id: 'js-adv'});
    manager.start(null);
    try {
        const first = TetherTest.submit_value(manager, null, intValue(1), 0);
        const blocking = TetherTest.submit_blocking_until_cancelled(manager, null);
        const deferred = TetherTest.submit_until_cancelled(manager, null);
        const queued = [];
        for (let i = 0; i < 20; i++)
            queued.push(TetherTest.submit_value(manager, null, intValue(i), 0));
        const pending = queued.map(f => f.wait_async(null));

        await first.wait_async(null);
        assert(TetherTest.wait_started(blocking, WAIT_USEC), 'the blocking work started');
        manager.stop(Tether.StopMode.CANCEL);
        assertEqual(manager.is_running(), false);
        assertEqual(blocking.get_status(), Tether.FutureStatus.CANCELLED);
        // A future the deferred work never started, or one it ended cancelled.
        assertEqual(deferred.get_status(), Tether.FutureStatus.CANCELLED);
        for (const p of pending)
            await assertRejectsGError(p, Gio.io_error_quark(), IO_ERROR.CANCELLED, 'queued work');

        // Started again from here, and it works.
        manager.start(null);
        const again = TetherTest.submit_value(manager, null, intValue(7), 0);
        await again.wait_async(null);
        assertEqual(again.get_int(), 7);
    } finally {
        manager.stop(Tether.StopMode.CANCEL);
    }
}

// notify::running handlers that stop the manager again and start it again
// while a stop is beginning: nothing hangs, and the last word is the
// handler's start.
async function testNotifyRunningHandlerRestarts() {
    const manager = new Tether.LoopManager({id: 'js-notify'});
    manager.start(null);
    let restarts = 0;
    const id = manager.connect('notify::running', () => {
        if (manager.is_running() || restarts > 0)
            return;
        restarts++;
        manager.stop(Tether.StopMode.CANCEL);  // nested: joins the same stop
        manager.start(null);                   // waits for it, then runs again
    });
    try {
        const blocking = TetherTest.submit_blocking_until_cancelled(manager, null);
        assert(TetherTest.wait_started(blocking, WAIT_USEC), 'the blocking work started');
        manager.stop(Tether.StopMode.DRAIN);
        assertEqual(restarts, 1);
        assertEqual(blocking.get_status(), Tether.FutureStatus.CANCELLED);
        assertEqual(manager.is_running(), true);
        const after = TetherTest.submit_value(manager, null, intValue(3), 0);
        await after.wait_async(null);
        assertEqual(after.get_int(), 3);
    } finally {
        manager.disconnect(id);
        manager.stop(Tether.StopMode.CANCEL);
    }
}

// The last reference dropped (by the garbage collector) while asynchronous
// submissions are pending: the drain still answers every one of them here.
async function testDropWithAsyncPending() {
    let manager = new Tether.LoopManager({id: 'js-drop'});
    manager.start(null);
    const promises = [];
    for (let i = 0; i < 10; i++)
        promises.push(submitValueAsync(manager, null, intValue(i), 5));
    manager = null;
    System.gc();
    const results = await Promise.all(promises);
    for (let i = 0; i < 10; i++)
        assertEqual(results[i][1], i, `submission ${i}`);
    assert(Tether.LoopManager.wait_detached(WAIT_USEC), 'the drain finished');
}

runTests([
    ['a CANCEL stop and a restart from wait_async() continuations', testStopInContinuation],
    ['notify::running handlers that stop and start again', testNotifyRunningHandlerRestarts],
    ['dropping a manager with asynchronous submissions pending', testDropWithAsyncPending],
]);
