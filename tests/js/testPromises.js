// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Promises and combinators from JavaScript: Tether.Promise resolved on the
// JavaScript thread, Tether futures in Promise.all() through the
// promisified wait_async(), Future.all/any/first, and then() continuations
// that run on the JavaScript thread's context (never on a manager's thread:
// a JavaScript continuation given a manager is refused).

import GLib from 'gi://GLib';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {assert, assertEqual, assertGError, runTests} from './harness.js';
import {TETHER_ERROR, withManager} from './common.js';

function resolvedInt(value) {
    const promise = Tether.Promise.new();
    promise.resolve_int(value);
    return promise.get_future();
}

async function testPromiseAll() {
    await withManager('promises-js', null, async manager => {
        const promise = Tether.Promise.new();
        const work = TetherTest.submit_run_order(manager, null, GLib.PRIORITY_DEFAULT);
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            promise.resolve_string('later');
            return GLib.SOURCE_REMOVE;
        });
        const futures = [promise.get_future(), work, resolvedInt(3)];
        const done = await Promise.all(futures.map(f => f.wait_async(null)));
        assert(done.every(ok => ok), 'every future succeeded');
        assertEqual(futures[0].dup_string(), 'later', 'the promise value');
        assertEqual(futures[2].get_int(), 3, 'the resolved value');
    });
}

async function testCombinators() {
    const bad = Tether.Promise.new();
    bad.reject(new GLib.Error(TETHER_ERROR, Tether.Error.FAILED, 'one'));
    const slow = Tether.Promise.new();
    const any = Tether.Future.any([bad.get_future(), slow.get_future()], Tether.CombineFlags.NONE);
    slow.resolve_int(2);
    assert(await any.wait_async(null), 'any() succeeded');
    assertEqual(any.get_int(), 2, 'any() gives the first success');

    const all = Tether.Future.all([resolvedInt(1), bad.get_future()], Tether.CombineFlags.NONE);
    try {
        await all.wait_async(null);
        throw new Error('all() succeeded');
    } catch (e) {
        assertGError(e, TETHER_ERROR, Tether.Error.FAILED, 'all() fails with the first error');
    }

    const pending = Tether.Promise.new();
    const first = Tether.Future.first([pending.get_future(), resolvedInt(7)],
        Tether.CombineFlags.CANCEL_REST);
    assert(await first.wait_async(null), 'first() succeeded');
    assertEqual(first.get_int(), 7, 'first() mirrors the first to end');
    assertEqual(pending.get_future().get_status(), Tether.FutureStatus.CANCELLED,
        'CANCEL_REST cancelled the other');
}

async function testThenOnTheJsThread() {
    let inside = true;
    let ranInside = null;
    const output = resolvedInt(20).then(null, null, (input, promise) => {
        ranInside = inside;
        promise.resolve_int(input.get_int() + 1);
    });
    inside = false;
    assert(await output.wait_async(null), 'then() succeeded');
    assertEqual(output.get_int(), 21, 'the continuation ran');
    assertEqual(ranInside, false, 'not inside the creating call');
}

async function testJsContinuationRefusedOnAManager() {
    await withManager('then-js', null, async manager => {
        const output = resolvedInt(1).then(manager, null, () => {
            throw new Error('ran on the manager');
        });
        try {
            await output.wait_async(null);
            throw new Error('a JS continuation ran on a manager');
        } catch (e) {
            assertGError(e, TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'refused');
        }
    });
}

runTests([
    ['Tether futures in Promise.all(), a promise resolved from an idle', testPromiseAll],
    ['Future.any/all/first with promises', testCombinators],
    ['then() runs a JS continuation on the JS thread, later', testThenOnTheJsThread],
    ['a JS continuation given a manager is refused', testJsContinuationRefusedOnAManager],
]);
