// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Values of several types travel from C work (TetherTest) back to
// JavaScript, through Tether.Future.wait() + get_value(), the typed getters,
// Tether.LoopManager.submit_finish() and the promisified wait_async().

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {WAIT_USEC, assert, assertDeepEqual, assertEqual, runTests} from './harness.js';
import {int64Value, submitValueAsync, withManager} from './common.js';

const action = new Gio.SimpleAction({name: 'tether-test'});
const plainObject = new GObject.Object();
const variant = new GLib.Variant('a{sv}', {
    name: new GLib.Variant('s', 'tether'),
    answer: new GLib.Variant('i', 42),
    list: new GLib.Variant('ax', [1, -2, 2 ** 40]),
});

function checkVariant(value, what) {
    assert(value instanceof GLib.Variant, `${what}: a GLib.Variant`);
    assertEqual(value.get_type_string(), 'a{sv}', what);
    assertDeepEqual(value.recursiveUnpack(), {name: 'tether', answer: 42, list: [1, -2, 2 ** 40]}, what);
}

// Each case: the value to submit (as JS passes it), how to check what
// comes back, and the typed Tether.Future getter for it.
const CASES = [
    {
        name: 'int',
        value: 42,
        check: (v, what) => assertEqual(v, 42, what),
        getter: f => f.get_int(),
    },
    {
        name: 'negative int',
        value: -7,
        check: (v, what) => assertEqual(v, -7, what),
        getter: f => f.get_int(),
    },
    {
        name: 'int64',
        value: int64Value(2 ** 40 + 3),
        check: (v, what) => assertEqual(v, 2 ** 40 + 3, what),
        getter: f => f.get_int64(),
    },
    {
        name: 'negative int64',
        value: int64Value(-(2 ** 33)),
        check: (v, what) => assertEqual(v, -(2 ** 33), what),
        getter: f => f.get_int64(),
    },
    {
        name: 'double',
        value: 1.5,
        check: (v, what) => assertEqual(v, 1.5, what),
        getter: f => f.get_double(),
    },
    {
        name: 'string',
        value: 'héllo, wörld ✓',
        check: (v, what) => assertEqual(v, 'héllo, wörld ✓', what),
        getter: f => f.dup_string(),
    },
    {
        name: 'empty string',
        value: '',
        check: (v, what) => assertEqual(v, '', what),
        getter: f => f.dup_string(),
    },
    {
        name: 'boolean true',
        value: true,
        check: (v, what) => assertEqual(v, true, what),
        getter: f => f.get_boolean(),
    },
    {
        name: 'boolean false',
        value: false,
        check: (v, what) => assertEqual(v, false, what),
        getter: f => f.get_boolean(),
    },
    {
        name: 'GVariant',
        value: variant,
        check: checkVariant,
        getter: f => f.dup_variant(),
    },
    {
        name: 'Gio.SimpleAction',
        value: action,
        check: (v, what) => assertEqual(v, action, what),
        getter: f => f.dup_object(),
    },
    {
        name: 'GObject.Object',
        value: plainObject,
        check: (v, what) => assertEqual(v, plainObject, what),
        getter: f => f.dup_object(),
    },
];

// Delay 0: the work returns inside its function; otherwise later, from a
// timeout on the manager's context.
const DELAYS = [0, 5];

async function testWaitAndGetValue() {
    await withManager('values', null, manager => {
        for (const delay of DELAYS) {
            for (const {name, value, check, getter} of CASES) {
                const what = `${name}, delay ${delay}`;
                const future = TetherTest.submit_value(manager, null, value, delay);
                assertEqual(future.wait(WAIT_USEC, null), true, what);
                assertEqual(future.get_status(), Tether.FutureStatus.SUCCEEDED, what);
                assertEqual(future.is_done(), true, what);
                assertEqual(future.dup_error(), null, what);
                check(future.get_value(), `${what}: get_value()`);
                check(getter(future), `${what}: typed getter`);
                // A done future answers again at once, even a poll.
                assertEqual(future.wait(0, null), true, what);
                check(future.get_value(), `${what}: get_value() again`);
            }
        }
    });
}

async function testNoValue() {
    await withManager('novalue', null, async manager => {
        const future = TetherTest.submit_value(manager, null, null, 0);
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_status(), Tether.FutureStatus.SUCCEEDED);
        assertEqual(future.get_value(), null);

        const [ok, value] = await submitValueAsync(manager, null, null, 5);
        assertEqual(ok, true);
        assertEqual(value, null);
    });
}

async function testSubmitFinish() {
    await withManager('finish', null, async manager => {
        for (const delay of DELAYS) {
            for (const {name, value, check} of CASES) {
                const what = `${name}, delay ${delay}`;
                const result = await submitValueAsync(manager, null, value, delay);
                assert(Array.isArray(result), `${what}: submit_finish returns an array`);
                assertEqual(result.length, 2, what);
                assertEqual(result[0], true, what);
                check(result[1], what);
            }
        }
    });
}

async function testPromisifiedWaitAsync() {
    await withManager('waitasyn', null, async manager => {
        for (const delay of DELAYS) {
            for (const {name, value, check, getter} of CASES) {
                const what = `${name}, delay ${delay}`;
                const future = TetherTest.submit_value(manager, null, value, delay);
                assertEqual(await future.wait_async(null), true, what);
                assertEqual(future.get_status(), Tether.FutureStatus.SUCCEEDED, what);
                check(future.get_value(), what);
                check(getter(future), `${what}: typed getter`);
            }
        }
    });
}

// Gio._promisify() finishes with the source object's submit_finish() (the
// manager's), and drops the leading `true` of its [true, value]: the promise
// resolves with [value].
const Promisified = {
    submit_value_async: TetherTest.submit_value_async,
    submit_finish() {
        throw new Error('the source object\'s submit_finish() is the one used');
    },
};
Gio._promisify(Promisified, 'submit_value_async', 'submit_finish');

async function testPromisifiedSubmitFinish() {
    await withManager('promsub', 'typed', async manager => {
        for (const {name, value, check} of CASES) {
            const result = await Promisified.submit_value_async(manager, 'typed', value, 0, null);
            assert(Array.isArray(result), `${name}: resolves with an array`);
            assertEqual(result.length, 1, name);
            check(result[0], name);
        }
        assertDeepEqual(await Promisified.submit_value_async(manager, 'typed', null, 0, null), [null]);

        let rejected = null;
        try {
            await Promisified.submit_value_async(manager, 'other', 1, 0, null);
        } catch (error) {
            rejected = error;
        }
        assert(rejected?.matches(Tether.error_quark(), Tether.Error.UNKNOWN_TASK_TYPE),
            `rejects with UNKNOWN_TASK_TYPE, got ${rejected}`);
    });
}

async function testWaitAsyncOnDoneFuture() {
    await withManager('done', null, async manager => {
        const future = TetherTest.submit_value(manager, null, 'early', 0);
        future.wait(WAIT_USEC, null);
        // The callback still comes from the main loop, never inside the call.
        let called = false;
        const promise = new Promise((resolve, reject) => {
            future.wait_async(null, (source, result) => {
                called = true;
                try {
                    resolve(source.wait_finish(result));
                } catch (error) {
                    reject(error);
                }
            });
        });
        assertEqual(called, false, 'callback ran inside wait_async()');
        assertEqual(await promise, true);
        assertEqual(future.get_value(), 'early');
    });
}

async function testManyConcurrent() {
    // Many submissions in flight at once, completed by timeouts in any order,
    // each keep their own value.
    await withManager('many', null, async manager => {
        const futures = [];
        const results = [];
        for (let i = 0; i < 50; i++) {
            futures.push(TetherTest.submit_value(manager, null, `f${i}`, (i * 7) % 13));
            results.push(submitValueAsync(manager, null, i, (i * 5) % 11));
        }
        const waited = await Promise.all(futures.map(f => f.wait_async(null)));
        assert(waited.every(ok => ok === true));
        futures.forEach((f, i) => assertEqual(f.get_value(), `f${i}`));
        (await Promise.all(results)).forEach(([ok, value], i) => {
            assertEqual(ok, true);
            assertEqual(value, i);
        });
    });
}

runTests([
    ['values of each type via Future.wait() and get_value()', testWaitAndGetValue],
    ['work that returns no value', testNoValue],
    ['values of each type via submit_finish()', testSubmitFinish],
    ['values of each type via promisified Future.wait_async()', testPromisifiedWaitAsync],
    ['values via promisified submit_finish() resolve as [value]', testPromisifiedSubmitFinish],
    ['wait_async() on a done future calls back from the main loop', testWaitAsyncOnDoneFuture],
    ['concurrent submissions keep their own values', testManyConcurrent],
]);
