// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Priorities from JavaScript: work written in C (TetherTest) queued at
// GLib priorities behind a blocked manager runs highest first, and
// submit_async()'s io_priority takes GIO's place, before the cancellable.

import GLib from 'gi://GLib';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {WAIT_USEC, assert, assertEqual, runTests} from './harness.js';
import {withManager} from './common.js';

async function testRunOrder() {
    await withManager('priority-js', null, async manager => {
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        assert(TetherTest.wait_started(blocker, WAIT_USEC), 'the blocking work started');

        const low = TetherTest.submit_run_order(manager, null, GLib.PRIORITY_LOW);
        const def = TetherTest.submit_run_order(manager, null, GLib.PRIORITY_DEFAULT);
        const high = TetherTest.submit_run_order(manager, null, GLib.PRIORITY_HIGH);
        assertEqual(manager.get_n_pending(), 3, 'three queued behind the blocker');
        blocker.cancel();

        // Promise.all over the promisified wait_async() of each.
        const [l, d, h] = await Promise.all([low, def, high].map(f => f.wait_async(null)));
        assert(l && d && h, 'all three succeeded');
        const order = [low, def, high].map(f => f.get_int());
        assert(order[2] < order[1] && order[1] < order[0], `high, default, low: ${order}`);
    });
}

async function testSubmitAsyncIoPriority() {
    await withManager('priority-async-js', null, async manager => {
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, null);
        assert(TetherTest.wait_started(blocker, WAIT_USEC), 'the blocking work started');
        // JavaScript work is refused on a manager, but only through the
        // callback, later: the priority argument is in its place.
        const error = await new Promise(resolve => {
            manager.submit_async(null, () => {}, GLib.PRIORITY_HIGH, null, (source, result) => {
                try {
                    source.submit_finish(result);
                    resolve(null);
                } catch (e) {
                    resolve(e);
                }
            });
        });
        assert(error instanceof GLib.Error, 'a JS function is refused');
        assertEqual(error.matches(Tether.error_quark(), Tether.Error.INVALID_ARGUMENT), true,
            'INVALID_ARGUMENT');
        blocker.cancel();
    });
}

runTests([
    ['work queued at GLib priorities runs highest first', testRunOrder],
    ['submit_async() takes io_priority before the cancellable', testSubmitAsyncIoPriority],
]);
