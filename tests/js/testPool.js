// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Tether.Pool from GJS: C work runs on the pool's threads (named
// tether:<id>/<n>, cut to the 15 bytes a thread name holds), futures come
// back on the JavaScript thread, a JavaScript work function is refused (GJS
// runs JavaScript only on its own thread), and a pool and a manager are both
// a Tether.Executor.

import GObject from 'gi://GObject';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

import {
    WAIT_USEC, assert, assertEqual, assertMatch, assertThrowsGError, runTests
} from './harness.js';
import {TETHER_ERROR} from './common.js';

function testPoolRunsCWork() {
    const pool = Tether.Pool.new('gp', 2);
    pool.start(null);
    try {
        const futures = [];
        for (let i = 0; i < 8; i++)
            futures.push(TetherTest.executor_submit_thread_name(pool, null));
        for (const future of futures) {
            assertEqual(future.wait(WAIT_USEC, null), true, 'the work succeeded');
            assertMatch(future.get_value(), /^tether:gp\/[01]$/, 'it ran on a pool thread');
        }
        assertEqual(pool.get_n_threads(), 2, 'two threads');
    } finally {
        pool.stop(Tether.StopMode.DRAIN);
    }
    assertEqual(pool.is_running(), false, 'stopped');
}

function testPoolRefusesJs() {
    const pool = Tether.Pool.new(null, 1);
    pool.start(null);
    try {
        let ran = false;
        assertThrowsGError(() => pool.submit(null, work => {
            ran = true;
            work.return_int(1);
        }, null), TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'submit() of a JS function');
        assertEqual(ran, false, 'the JS function never ran');
        assertThrowsGError(() => pool.submit_with_closure(null, work => {
            ran = true;
            return true;
        }, null), TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'submit_with_closure() of a JS function');
        assertThrowsGError(() => pool.submit_after(null, 1000, work => {
            ran = true;
            work.return_int(1);
        }, null), TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'submit_after() of a JS function');
        assertThrowsGError(() => pool.post_with_closure(null, () => {
            ran = true;
        }), TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'post_with_closure() of a JS function');
        assertEqual(ran, false, 'no JS function ran');
    } finally {
        pool.stop(Tether.StopMode.CANCEL);
    }
}

function testBothAreExecutors() {
    const pool = Tether.Pool.new(null, 1);
    const manager = new Tether.LoopManager({id: 'gjs-exe'});
    assert(GObject.type_is_a(pool.constructor.$gtype, Tether.Executor.$gtype),
        'a pool is a Tether.Executor');
    assert(GObject.type_is_a(manager.constructor.$gtype, Tether.Executor.$gtype),
        'a manager is a Tether.Executor');
    manager.start(null);
    try {
        const future = TetherTest.executor_submit_thread_name(manager, null);
        assertEqual(future.wait(WAIT_USEC, null), true, 'the work succeeded');
        assertMatch(future.get_value(), /^tether:gjs-exe$/, 'it ran on the manager');
    } finally {
        manager.stop(Tether.StopMode.DRAIN);
    }
}

function testPoolRegistry() {
    assertEqual(Tether.Pool.ref_current(), null, 'no current pool on the main thread');
    assertThrowsGError(() => Tether.Pool.get_or_create('gjs-preg', 0, Tether.LookupFlags.STRICT),
        TETHER_ERROR, Tether.Error.MANAGER_NOT_FOUND, 'STRICT finds no pool');
    const pool = Tether.Pool.get_or_create('gjs-preg', 2, Tether.LookupFlags.NONE);
    assert(pool instanceof Tether.Pool, 'get_or_create() returns a Tether.Pool');
    assertEqual(pool.is_running(), false, 'made, not started');
    assertEqual(Tether.Pool.get_or_create('gjs-preg', 0, Tether.LookupFlags.STRICT), pool,
        'found again');
    Tether.LoopManager.get_or_create('gjs-preg-m', Tether.LookupFlags.NONE);
    assertThrowsGError(() => Tether.Pool.get_or_create('gjs-preg-m', 0, Tether.LookupFlags.NONE),
        TETHER_ERROR, Tether.Error.INVALID_ARGUMENT, 'an id registered as a manager');
    const started = Tether.Pool.get_or_start('gjs-preg', 0, Tether.LookupFlags.NONE, null);
    try {
        assertEqual(started, pool, 'get_or_start() starts the registered pool');
        assertEqual(pool.is_running(), true, 'running');
        const entry = Tether.registry_snapshot().deepUnpack()
            .find(e => e['id'].deepUnpack() === 'gjs-preg');
        assertEqual(entry['kind'].deepUnpack(), 'pool', 'snapshot kind');
        assertEqual(entry['n-threads'].deepUnpack(), 2, 'snapshot n-threads');
    } finally {
        pool.stop(Tether.StopMode.DRAIN);
    }
}

runTests([
    ['a pool runs C work on its threads', testPoolRunsCWork],
    ['pools in the registry; no current pool on the main thread', testPoolRegistry],
    ['a pool refuses a JavaScript work function', testPoolRefusesJs],
    ['pools and managers are both Tether.Executor', testBothAreExecutors],
]);
