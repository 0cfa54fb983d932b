// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Which thread runs what, seen from GJS: work runs on the manager's thread,
// callbacks and notifications come back on the JavaScript thread, and a
// JavaScript work function, which GJS cannot run on another thread, is
// rejected at submission, here, with Tether.Error.INVALID_ARGUMENT: submit(),
// submit_after(), submit_at() and post() throw, submit_async() reports the
// error to its callback (later, never inside the call) and its promisified
// form rejects. The function never reaches a manager's thread, so garbage
// collection on this thread cannot meet it there.

import GLib from 'gi://GLib';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';
import System from 'system';

import {
    WAIT_USEC, assert, assertEqual, assertGError, assertMatch, assertNotEqual,
    assertRejectsGError, assertThrowsGError, drainMainContext, runTests
} from './harness.js';
import {MAIN_THREAD_NAME, TETHER_ERROR, submitValueAsync, withManager} from './common.js';

// The marker of a rejected JavaScript function: INVALID_ARGUMENT, with a
// message that says why.
function assertRejectedJs(error, what) {
    assertGError(error, TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, what);
    assert(error.matches(Tether.error_quark(), Tether.Error.INVALID_ARGUMENT), what);
    assertMatch(error.message, /JavaScript/, `${what}: the message mentions JavaScript`);
    return error;
}

function assertThrowsRejectedJs(func, what) {
    return assertRejectedJs(assertThrowsGError(func, TETHER_ERROR,
        Tether.Error.INVALID_ARGUMENT, what), what);
}

// A JavaScript work function that records whether it ever ran.
function makeJsWork() {
    const js = work => {
        js.ran = true;
        work.return_int(1);
    };
    js.ran = false;
    return js;
}

// Checks that @manager still runs C work, on its own thread.
function assertStillWorking(manager, taskType = null) {
    const future = TetherTest.submit_thread_name(manager, taskType);
    assertEqual(future.wait(WAIT_USEC, null), true, 'the manager still works');
    assertMatch(future.get_value(), /^tether:/, 'C work still runs on the manager\'s thread');
}

async function testWorkRunsOnManagerThread() {
    assert(typeof MAIN_THREAD_NAME === 'string' && MAIN_THREAD_NAME.length > 0,
        `the main thread has a name, got ${MAIN_THREAD_NAME}`);
    await withManager('one', null, async one => {
        await withManager('two', null, two => {
            const a = TetherTest.submit_thread_name(one, null);
            const b = TetherTest.submit_thread_name(two, null);
            assertEqual(a.wait(WAIT_USEC, null), true);
            assertEqual(b.wait(WAIT_USEC, null), true);
            assertEqual(a.get_value(), 'tether:one');
            assertEqual(b.get_value(), 'tether:two');
            assertNotEqual(a.get_value(), MAIN_THREAD_NAME);
        });
    });
}

async function testCallbacksOnJsThread() {
    await withManager('callback', null, async manager => {
        // submit_async: the callback runs at all (GJS would block it on
        // another thread) and runs here.
        const submitThread = await new Promise((resolve, reject) => {
            TetherTest.submit_value_async(manager, null, 'v', 10, null, (source, result) => {
                try {
                    const [ok, value] = source.submit_finish(result);
                    assertEqual(ok, true);
                    assertEqual(value, 'v');
                    resolve(TetherTest.get_thread_name());
                } catch (error) {
                    reject(error);
                }
            });
        });
        assertEqual(submitThread, MAIN_THREAD_NAME, 'submit_async callback thread');

        // Future.wait_async: the same.
        const future = TetherTest.submit_value(manager, null, 'w', 10);
        const waitThread = await new Promise((resolve, reject) => {
            future.wait_async(null, (source, result) => {
                try {
                    assertEqual(source, future);
                    assertEqual(source.wait_finish(result), true);
                    resolve(TetherTest.get_thread_name());
                } catch (error) {
                    reject(error);
                }
            });
        });
        assertEqual(waitThread, MAIN_THREAD_NAME, 'wait_async callback thread');
        assertEqual(future.get_value(), 'w');

        // A rejection comes back here the same way.
        const stopped = new Tether.LoopManager({id: 'stopped'});
        const [rejectThread, error] = await new Promise(resolve => {
            TetherTest.submit_value_async(stopped, null, 1, 0, null, (source, result) => {
                try {
                    source.submit_finish(result);
                    resolve([TetherTest.get_thread_name(), null]);
                } catch (e) {
                    resolve([TetherTest.get_thread_name(), e]);
                }
            });
        });
        assertGError(error, TETHER_ERROR, Tether.Error.NOT_RUNNING, 'rejection');
        assertEqual(rejectThread, MAIN_THREAD_NAME, 'rejection callback thread');
    });

    // notify::running, for a start and a stop made here.
    const manager = new Tether.LoopManager({id: 'notifyth'});
    const threads = [];
    const id = manager.connect('notify::running', () => threads.push(TetherTest.get_thread_name()));
    try {
        manager.start(null);
        manager.stop(Tether.StopMode.DRAIN);
    } finally {
        manager.disconnect(id);
    }
    assertEqual(JSON.stringify(threads), JSON.stringify([MAIN_THREAD_NAME, MAIN_THREAD_NAME]),
        'notify::running threads');
}

async function testJsWorkWithSubmit() {
    await withManager('jssubmit', null, manager => {
        const js = makeJsWork();
        assertThrowsRejectedJs(() => manager.submit(null, js, null), 'submit()');
        assertThrowsRejectedJs(() => manager.submit_after(null, 1000, js, null), 'submit_after()');
        assertThrowsRejectedJs(() => manager.submit_at(null, 0, js, null), 'submit_at()');
        assertEqual(js.ran, false, 'the JS function never ran');
        assertStillWorking(manager);
    });
}

async function testJsPost() {
    await withManager('jspost', null, async manager => {
        let ran = false;
        assertThrowsRejectedJs(() => manager.post(null, () => {
            ran = true;
        }), 'post()');
        assertStillWorking(manager);
        await drainMainContext();
        assertEqual(ran, false, 'the JS function never ran');
    });
}

async function testJsWorkWithSubmitAsync() {
    await withManager('jsasync', null, async manager => {
        const js = makeJsWork();
        let called = 0;
        let inCall = false;
        let calledInCall = false;
        const outcome = new Promise((resolve, reject) => {
            inCall = true;
            try {
                manager.submit_async(null, js, GLib.PRIORITY_DEFAULT, null, (source, result) => {
                    called++;
                    calledInCall ||= inCall;
                    try {
                        assertEqual(source, manager, 'the callback\'s source');
                        source.submit_finish(result);
                        reject(new Error('submit_finish() succeeded'));
                    } catch (error) {
                        resolve([error, TetherTest.get_thread_name()]);
                    }
                });
            } finally {
                inCall = false;
            }
        });
        assertEqual(called, 0, 'the callback does not run inside submit_async()');

        const [error, thread] = await outcome;
        assertEqual(calledInCall, false, 'the callback did not run inside submit_async()');
        assertRejectedJs(error, 'submit_finish()');
        assertEqual(thread, MAIN_THREAD_NAME, 'the callback runs on the JS thread');
        assertEqual(js.ran, false, 'the JS function never ran');

        await drainMainContext();
        assertEqual(called, 1, 'the callback ran once');
        assertStillWorking(manager);
    });
}

async function testJsWorkWithPromisifiedSubmitAsync() {
    await withManager('jsprom', null, async manager => {
        const js = makeJsWork();
        const one = manager.submit_async(null, js, GLib.PRIORITY_DEFAULT, null);
        assert(one instanceof Promise, 'submit_async() without a callback is promisified');
        assertRejectedJs(await assertRejectsGError(one, TETHER_ERROR, Tether.Error.INVALID_ARGUMENT),
            'promisified submit_async()');

        const all = [];
        for (let i = 0; i < 20; i++)
            all.push(manager.submit_async(null, js, GLib.PRIORITY_DEFAULT, null).then(() => 'resolved', e => e));
        for (const outcome of await Promise.all(all))
            assertRejectedJs(outcome, 'one of many');
        assertEqual(js.ran, false, 'no JS function ran');
        assertStillWorking(manager);
    });
}

async function testJsCheckComesFirst() {
    // The JavaScript check comes before the others: a stopped manager, or
    // one started for another task type, rejects a JS function the same way.
    const manager = new Tether.LoopManager({id: 'jsfirst'});
    const js = makeJsWork();
    assertThrowsRejectedJs(() => manager.submit(null, js, null), 'submit() when stopped');
    assertThrowsRejectedJs(() => manager.submit_after(null, 0, js, null), 'submit_after() when stopped');
    assertThrowsRejectedJs(() => manager.submit_at(null, 0, js, null), 'submit_at() when stopped');
    assertThrowsRejectedJs(() => manager.post(null, js), 'post() when stopped');
    assertRejectedJs(await assertRejectsGError(manager.submit_async(null, js, GLib.PRIORITY_DEFAULT, null),
        TETHER_ERROR, Tether.Error.INVALID_ARGUMENT), 'submit_async() when stopped');
    // C work still meets the usual check.
    assertThrowsGError(() => TetherTest.submit_value(manager, null, 1, 0),
        TETHER_ERROR, Tether.Error.NOT_RUNNING, 'C work when stopped');

    manager.start('typed');
    try {
        assertThrowsRejectedJs(() => manager.submit('other', js, null), 'submit() of another type');
        assertRejectedJs(await assertRejectsGError(manager.submit_async('other', js, GLib.PRIORITY_DEFAULT, null),
            TETHER_ERROR, Tether.Error.INVALID_ARGUMENT), 'submit_async() of another type');
        assertThrowsGError(() => TetherTest.submit_value(manager, 'other', 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE, 'C work of another type');
        assertStillWorking(manager, 'typed');
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
    assertEqual(js.ran, false, 'no JS function ran');
}

async function testManyJsFunctionsWithGc() {
    // This used to be able to crash GJS: JavaScript functions reaching a
    // manager's thread while this one collected garbage.
    await withManager('jsgc', null, async manager => {
        const COUNT = 200;
        let ran = 0;
        let rejected = 0;
        for (let i = 0; i < COUNT; i++) {
            const js = work => {
                ran++;
                work.return_int(i);
            };
            try {
                switch (i % 4) {
                case 0:
                    manager.submit(null, js, null);
                    break;
                case 1:
                    manager.submit_after(null, 0, js, null);
                    break;
                case 2:
                    manager.submit_at(null, 0, js, null);
                    break;
                default:
                    manager.post(null, js);
                }
            } catch (error) {
                assertRejectedJs(error, `submission ${i}`);
                rejected++;
            }
            System.gc();
        }
        System.gc();
        await drainMainContext();
        System.gc();
        assertEqual(rejected, COUNT, 'every JS function was rejected');
        assertEqual(ran, 0, 'no JS function ran');
        assertStillWorking(manager);
    });
}

async function testCWorkAfterMisuse() {
    // A misused manager is not damaged: C submissions interleaved with
    // rejected JS ones keep their order and outcomes.
    await withManager('mixed', null, async manager => {
        const outcomes = [];
        const promises = [];
        for (let i = 0; i < 5; i++) {
            promises.push(submitValueAsync(manager, null, i, 0).then(([, v]) => outcomes.push(v)));
            promises.push(manager.submit_async(null, () => {}, GLib.PRIORITY_DEFAULT, null).then(
                () => outcomes.push('resolved'),
                e => outcomes.push(e.matches(TETHER_ERROR, Tether.Error.INVALID_ARGUMENT) ? 'rejected' : `${e}`)));
        }
        await Promise.all(promises);
        const values = outcomes.filter(o => typeof o === 'number');
        assertEqual(JSON.stringify(values), JSON.stringify([0, 1, 2, 3, 4]), 'C work in order');
        assertEqual(outcomes.filter(o => o === 'rejected').length, 5,
            `every JS function rejected, got ${JSON.stringify(outcomes)}`);
        assertEqual(outcomes.length, 10);
    });
}

// call() takes the function for the length of the call (scope call), so
// nothing can tell a JavaScript function from C: GJS refuses to run it on
// the manager's thread (with a warning), its work is dropped unreturned, and
// the call fails ABANDONED. call_with_closure() refuses a JavaScript
// closure up front, INVALID_ARGUMENT. Neither ever runs the function, and
// neither hangs.
async function testJsCall() {
    await withManager('jscall', null, manager => {
        const js = makeJsWork();
        GLib.test_expect_message?.('Gjs', GLib.LogLevelFlags.LEVEL_CRITICAL, '*');
        assertThrowsGError(() => manager.call(null, js, null), TETHER_ERROR,
            Tether.Error.ABANDONED, 'call()');
        assertThrowsRejectedJs(() => manager.call_with_closure(null, js, null),
            'call_with_closure()');
        assertEqual(js.ran, false, 'the JS function never ran');
        assertStillWorking(manager);
    });
}

runTests([
    ['work runs on the manager\'s thread, named tether:<id>', testWorkRunsOnManagerThread],
    ['callbacks and notifications arrive on the JS thread', testCallbacksOnJsThread],
    ['submit(), submit_after() and submit_at() reject a JS function', testJsWorkWithSubmit],
    ['post() rejects a JS function', testJsPost],
    ['submit_async() reports a JS function rejected, later, on the JS thread', testJsWorkWithSubmitAsync],
    ['promisified submit_async() rejects a JS function', testJsWorkWithPromisifiedSubmitAsync],
    ['a JS function is rejected before the running and task-type checks', testJsCheckComesFirst],
    ['200 JS functions with garbage collection in between are all rejected', testManyJsFunctionsWithGc],
    ['C work and rejected JS functions interleave', testCWorkAfterMisuse],
    ['call() and call_with_closure() never run a JS function', testJsCall],
]);
