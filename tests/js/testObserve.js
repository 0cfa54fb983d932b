// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A manager's stats and debug settings from JavaScript: dup_stats() as an
// object through recursiveUnpack(), the counters after C work from
// TetherTest, and the debug-flags, slow-threshold, wait-spin and loop-spin
// properties.
//
// Not here: the debug reports themselves, which come from work that takes
// long on the manager's thread; the C and Python suites cover them.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    WAIT_USEC, assert, assertDeepEqual, assertEqual, assertThrowsGError, runTests
} from './harness.js';
import {TETHER_ERROR, withManager} from './common.js';

const IO_ERROR = Gio.IOErrorEnum;
const DebugFlags = Tether.DebugFlags;

const STATS_TYPES = {
    'submitted': 't', 'completed': 't', 'failed': 't', 'cancelled': 't', 'rejected': 't',
    'queued': 'u', 'running': 'u', 'wakeups': 't', 'waiting-for-room': 'u', 'queue-high-water': 'u', 'latency-samples': 'u',
    'queue-wait-p50-usec': 'x', 'queue-wait-p90-usec': 'x', 'queue-wait-p99-usec': 'x',
    'run-time-p50-usec': 'x', 'run-time-p90-usec': 'x', 'run-time-p99-usec': 'x',
};

function stats(manager) {
    return manager.dup_stats().recursiveUnpack();
}

function sleepMs(ms) {
    return new Promise(resolve => {
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

// Polls until @key of the manager's stats is @expected: a job's latency
// sample, for one, is recorded after its function returned, which can be
// just after its future completed.
async function waitForStat(manager, key, expected) {
    const deadline = GLib.get_monotonic_time() + WAIT_USEC;
    while (stats(manager)[key] !== expected && GLib.get_monotonic_time() < deadline)
        await sleepMs(1);
    assertEqual(stats(manager)[key], expected, key);
}

function sortedKeys(object) {
    return Object.keys(object).sort();
}

async function testKeysAndTypes() {
    const manager = new Tether.LoopManager({id: 'stats-keys'});
    const variant = manager.dup_stats();
    assertEqual(variant.get_type_string(), 'a{sv}');
    const types = {};
    for (let i = 0; i < variant.n_children(); i++) {
        const [key, boxed] = variant.get_child_value(i).deepUnpack();
        types[key] = boxed.get_type_string();
    }
    assertDeepEqual(sortedKeys(types), sortedKeys(STATS_TYPES), 'keys');
    for (const [key, type] of Object.entries(STATS_TYPES))
        assertEqual(types[key], type, `type of ${key}`);

    const unpacked = stats(manager);
    assertDeepEqual(sortedKeys(unpacked), sortedKeys(STATS_TYPES), 'unpacked keys');
    for (const [key, value] of Object.entries(unpacked)) {
        assertEqual(typeof value, 'number', `${key} unpacks to a number`);
        assertEqual(value, 0, `${key} of a manager that never ran`);
    }
}

async function testCountsAfterCWork() {
    await withManager('stats-counts', 'io', async manager => {
        for (let i = 0; i < 3; i++) {
            const future = TetherTest.submit_value(manager, 'io', i, 0);
            assertEqual(future.wait(WAIT_USEC, null), true);
        }
        const failing = TetherTest.submit_error(manager, 'io', 'on purpose');
        assertThrowsGError(() => failing.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.FAILED);
        let now = stats(manager);
        assertDeepEqual([now.submitted, now.completed, now.failed], [4, 3, 1],
            '[submitted, completed, failed] after four jobs');
        await waitForStat(manager, 'latency-samples', 4);

        // Hold the thread: the queue and the running job show.
        const blocker = TetherTest.submit_blocking_until_cancelled(manager, 'io');
        assertEqual(TetherTest.wait_started(blocker, WAIT_USEC), true, 'the blocker started');
        const queued = TetherTest.submit_value(manager, 'io', 'never', 0);
        now = stats(manager);
        assertDeepEqual([now.queued, now.running], [1, 1], '[queued, running]');
        assert(now['queue-high-water'] >= 1, 'queue-high-water');

        // Refused at submission: another task type, none, and JavaScript work.
        assertThrowsGError(() => TetherTest.submit_value(manager, 'cpu', 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE);
        assertThrowsGError(() => TetherTest.submit_value(manager, null, 1, 0),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE);
        assertThrowsGError(() => manager.submit('io', () => 1, null),
            TETHER_ERROR, Tether.Error.INVALID_ARGUMENT);
        assertThrowsGError(() => manager.post('io', () => 1),
            TETHER_ERROR, Tether.Error.INVALID_ARGUMENT);
        assertEqual(stats(manager).rejected, 4, 'rejected');

        // Cancelling queued work ends it at once; the blocker sees its
        // cancellable and ends with G_IO_ERROR_CANCELLED: both are cancelled.
        queued.cancel();
        assertEqual(stats(manager).cancelled, 1, 'cancelled after cancel()');
        blocker.cancel();
        assertThrowsGError(() => blocker.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.CANCELLED);
        await waitForStat(manager, 'latency-samples', 5);

        manager.stop(Tether.StopMode.DRAIN);
        assertDeepEqual(stats(manager), {
            ...stats(manager),
            submitted: 6, completed: 3, failed: 1, cancelled: 2, rejected: 4,
            queued: 0, running: 0, 'latency-samples': 5,
        }, 'after the stop');

        // A stopped manager refuses and counts it; counters survive a restart.
        assertThrowsGError(() => TetherTest.submit_value(manager, 'io', 1, 0),
            TETHER_ERROR, Tether.Error.NOT_RUNNING);
        assertEqual(stats(manager).rejected, 5, 'rejected when stopped');
        manager.start('io');
        assertEqual(TetherTest.submit_value(manager, 'io', 1, 0).wait(WAIT_USEC, null), true);
        assertEqual(stats(manager).completed, 4, 'completed after the restart');
    });
}

async function testRunningIncludesWorkThatReturnsLater() {
    await withManager('stats-running', null, async manager => {
        // Its function returns at once; the work ends when cancelled.
        const future = TetherTest.submit_until_cancelled(manager, null);
        assertEqual(TetherTest.submit_value(manager, null, 'next', 0).wait(WAIT_USEC, null), true);
        let now = stats(manager);
        assertDeepEqual([now.running, now.queued, now.completed], [1, 0, 1],
            '[running, queued, completed] while it is pending');
        future.cancel();
        assertThrowsGError(() => future.wait(WAIT_USEC, null), IO_ERROR, IO_ERROR.CANCELLED);
        now = stats(manager);
        assertDeepEqual([now.running, now.cancelled], [0, 1], '[running, cancelled] after');
    });
}

async function testLatencyOfDelayedWork() {
    await withManager('stats-latency', null, async manager => {
        // Delayed values are returned from a timeout on the manager's loop,
        // after the work function returned: each is still one sample.
        const futures = [];
        for (let i = 0; i < 4; i++)
            futures.push(TetherTest.submit_value(manager, null, i, 5));
        for (const [i, future] of futures.entries()) {
            await future.wait_async(null);
            assertEqual(future.get_value(), i);
        }
        await waitForStat(manager, 'latency-samples', 4);
        const now = stats(manager);
        for (const kind of ['queue-wait', 'run-time']) {
            const [p50, p90, p99] = [50, 90, 99].map(p => now[`${kind}-p${p}-usec`]);
            assert(p50 >= 0 && p50 <= p90 && p90 <= p99, `${kind}: ${p50} <= ${p90} <= ${p99}`);
        }
        assertDeepEqual([now.completed, now.running], [4, 0], '[completed, running]');
    });
}

async function testDebugFlagsAndThreshold() {
    const manager = new Tether.LoopManager({id: 'debug-props'});
    const notified = [];
    const id = manager.connect('notify::debug-flags', object => notified.push(object.debug_flags));
    try {
        manager.set_debug_flags(DebugFlags.SLOW | DebugFlags.DROPPED);
        assertEqual(manager.get_debug_flags(), DebugFlags.SLOW | DebugFlags.DROPPED);
        assertEqual(manager.debug_flags, DebugFlags.SLOW | DebugFlags.DROPPED);
        manager.debug_flags = DebugFlags.SLOW | DebugFlags.DROPPED;   // unchanged: no notify
        manager.debug_flags = DebugFlags.UNRETRIEVED;
        assertEqual(manager.get_debug_flags(), DebugFlags.UNRETRIEVED);
        manager.set_debug_flags(DebugFlags.NONE);
        assertEqual(manager.debug_flags, 0);
        assertDeepEqual(notified,
            [DebugFlags.SLOW | DebugFlags.DROPPED, DebugFlags.UNRETRIEVED, DebugFlags.NONE],
            'notify::debug-flags');

        manager.set_slow_threshold(2500);
        assertEqual(manager.slow_threshold, 2500);
        manager.slow_threshold = 10 * 60 * 1000 * 1000;
        assertEqual(manager.get_slow_threshold(), 10 * 60 * 1000 * 1000);
    } finally {
        manager.disconnect(id);
    }

    const built = new Tether.LoopManager({
        id: 'debug-built', debug_flags: DebugFlags.SLOW | DebugFlags.UNRETRIEVED,
        slow_threshold: 1234,
    });
    assertEqual(built.get_debug_flags(), DebugFlags.SLOW | DebugFlags.UNRETRIEVED);
    assertEqual(built.get_slow_threshold(), 1234);
}

async function testSpinProperties() {
    const manager = new Tether.LoopManager({id: 'spin-props', wait_spin: 100});
    assertEqual(manager.get_wait_spin(), 100);
    assertEqual(manager.loop_spin, 0);
    manager.set_loop_spin(200);
    assertEqual(manager.loop_spin, 200);
    manager.wait_spin = 1000 * 1000;                  // up to a second
    assertEqual(manager.get_wait_spin(), 1000 * 1000);
    manager.wait_spin = 200;

    // Spinning changes how soon results arrive, never what they are.
    manager.start(null);
    try {
        for (let i = 0; i < 200; i++) {
            const future = TetherTest.submit_value(manager, null, i, 0);
            assertEqual(future.wait(WAIT_USEC, null), true);
            assertEqual(future.get_value(), i);
        }
        const delayed = TetherTest.submit_value(manager, null, 'after the spin', 20);
        assertEqual(delayed.wait(WAIT_USEC, null), true);
        assertEqual(delayed.get_value(), 'after the spin');
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
    assertEqual(stats(manager).completed, 201);
}

runTests([
    ['dup_stats() keys, variant types and unpacked numbers', testKeysAndTypes],
    ['stats count every outcome of C work and every rejection', testCountsAfterCWork],
    ['running counts work whose function returned early', testRunningIncludesWorkThatReturnsLater],
    ['latency samples of delayed work', testLatencyOfDelayedWork],
    ['debug-flags and slow-threshold round-trip and notify', testDebugFlagsAndThreshold],
    ['wait-spin and loop-spin round-trip; results unchanged', testSpinProperties],
]);
