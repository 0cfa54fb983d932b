// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The lineage registry from JavaScript: Tether.LoopManager.get_or_create()
// with each Tether.LookupFlags combination, get_or_start(), and
// Tether.registry_snapshot().
// Every manager here is registered on the main thread, which outlives the
// tests, so each test uses ids of its own.

import GLib from 'gi://GLib';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    WAIT_USEC, assert, assertEqual, assertMatch, assertNotEqual, assertThrowsGError, runTests
} from './harness.js';
import {MAIN_THREAD_NAME, TETHER_ERROR} from './common.js';

const {NONE, FORCE_CREATE, STRICT} = Tether.LookupFlags;

function snapshotEntries(id) {
    const snapshot = Tether.registry_snapshot();
    assert(snapshot instanceof GLib.Variant, 'registry_snapshot() is a GLib.Variant');
    assertEqual(snapshot.get_type_string(), 'aa{sv}');
    const entries = snapshot.recursiveUnpack();
    assert(Array.isArray(entries), 'the snapshot unpacks to an array');
    // deepUnpack() keeps the values as variants one level down.
    const shallow = snapshot.deepUnpack();
    assertEqual(shallow.length, entries.length);
    assert(shallow.every(entry => entry.id instanceof GLib.Variant), 'deepUnpack() keeps variants');
    return entries.filter(entry => entry.id === id);
}

async function testSameManagerTwice() {
    const first = Tether.LoopManager.get_or_create('reg-same', NONE);
    const second = Tether.LoopManager.get_or_create('reg-same', NONE);
    assert(first instanceof Tether.LoopManager);
    assertEqual(second, first, 'the same object');
    assertEqual(first.get_id(), 'reg-same');
    assertEqual(first.is_running(), false, 'a fresh one comes back stopped');

    // STRICT finds it too, and a distinct id never shares it.
    assertEqual(Tether.LoopManager.get_or_create('reg-same', STRICT), first);
    assertNotEqual(Tether.LoopManager.get_or_create('reg-other', NONE), first);
}

async function testStrictMissing() {
    const error = assertThrowsGError(
        () => Tether.LoopManager.get_or_create('reg-missing', STRICT),
        TETHER_ERROR, Tether.Error.MANAGER_NOT_FOUND);
    assert(error.matches(Tether.error_quark(), Tether.Error.MANAGER_NOT_FOUND));
    assertMatch(error.message, /reg-missing/, 'the message names the id');
    // The failed lookup registered nothing.
    assertEqual(snapshotEntries('reg-missing').length, 0);
}

async function testForceCreateAndStrict() {
    const error = assertThrowsGError(
        () => Tether.LoopManager.get_or_create('reg-both', FORCE_CREATE | STRICT),
        TETHER_ERROR, Tether.Error.INVALID_ARGUMENT);
    assertMatch(error.message, /FORCE_CREATE/);
    assertEqual(snapshotEntries('reg-both').length, 0);
}

async function testForceCreate() {
    const first = Tether.LoopManager.get_or_create('reg-force', NONE);
    const forced = Tether.LoopManager.get_or_create('reg-force', FORCE_CREATE);
    assertNotEqual(forced, first, 'FORCE_CREATE makes a new manager');
    assertEqual(forced.get_id(), 'reg-force');
    // It replaced the entry of this thread.
    assertEqual(Tether.LoopManager.get_or_create('reg-force', NONE), forced);
    assertEqual(snapshotEntries('reg-force').length, 1);
}

async function testDefaultId() {
    const byNull = Tether.LoopManager.get_or_create(null, NONE);
    assertEqual(byNull.get_id(), 'default');
    assertEqual(Tether.LoopManager.get_or_create('default', STRICT), byNull);
}

async function testSnapshot() {
    const manager = Tether.LoopManager.get_or_create('reg-snap', NONE);
    let [entry] = snapshotEntries('reg-snap');
    assert(entry !== undefined, 'the snapshot lists the manager');
    assertEqual(entry.running, false);
    assertEqual(entry['task-type'], '');
    assertEqual(entry.thread, MAIN_THREAD_NAME, 'registered on this thread');
    assertEqual(typeof entry['thread-address'], 'number');
    assertEqual(typeof entry.depth, 'number');

    manager.start('render');
    try {
        [entry] = snapshotEntries('reg-snap');
        assertEqual(entry.running, true);
        assertEqual(entry['task-type'], 'render');

        // A registered manager runs work like any other.
        const future = TetherTest.submit_thread_name(manager, 'render');
        assertEqual(future.wait(WAIT_USEC, null), true);
        assertEqual(future.get_value(), 'tether:reg-snap');
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
    [entry] = snapshotEntries('reg-snap');
    assertEqual(entry.running, false);

    // All managers this thread registered share its thread and depth.
    const mine = Tether.registry_snapshot().recursiveUnpack()
        .filter(e => e.id.startsWith('reg-'));
    assert(mine.length >= 4, `several entries, got ${mine.length}`);
    for (const e of mine) {
        assertEqual(e.thread, entry.thread, `${e.id}: thread`);
        assertEqual(e['thread-address'], entry['thread-address'], `${e.id}: thread-address`);
        assertEqual(e.depth, entry.depth, `${e.id}: depth`);
    }
}

async function testGetOrStart() {
    const manager = Tether.LoopManager.get_or_start('reg-start', NONE, 'io');
    try {
        assertEqual(manager.is_running(), true, 'it runs');
        assertEqual(manager.dup_task_type(), 'io');
        assertEqual(Tether.LoopManager.get_or_start('reg-start', NONE, 'io'), manager,
            'the same task type: the same running manager');
        const error = assertThrowsGError(
            () => Tether.LoopManager.get_or_start('reg-start', NONE, null),
            TETHER_ERROR, Tether.Error.UNKNOWN_TASK_TYPE);
        assertMatch(error.message, /'io'/, 'the message names the running task type');
        assertThrowsGError(() => Tether.LoopManager.get_or_start('reg-start-missing', STRICT, null),
            TETHER_ERROR, Tether.Error.MANAGER_NOT_FOUND);
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
}

runTests([
    ['get_or_create() returns the same manager twice', testSameManagerTwice],
    ['STRICT on a missing id is MANAGER_NOT_FOUND', testStrictMissing],
    ['FORCE_CREATE | STRICT is INVALID_ARGUMENT', testForceCreateAndStrict],
    ['FORCE_CREATE replaces the entry', testForceCreate],
    ['a null id is the "default" namespace', testDefaultId],
    ['registry_snapshot() unpacks', testSnapshot],
    ['get_or_start() starts once, refuses another task type', testGetOrStart],
]);
