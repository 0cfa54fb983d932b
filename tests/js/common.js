// SPDX-License-Identifier: LGPL-2.1-or-later
//
// What the GJS test files share beyond asserts: the promisified Tether
// methods, TetherTest wrappers and manager helpers.

import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Tether from 'gi://Tether?version=1.0';
import TetherTest from 'gi://TetherTest?version=1.0';

Gio._promisify(Tether.LoopManager.prototype, 'submit_async', 'submit_finish');
Gio._promisify(Tether.Future.prototype, 'wait_async', 'wait_finish');

export const TETHER_ERROR = Tether.error_quark();

// The name of the thread running the tests (GJS runs JavaScript on it only).
export const MAIN_THREAD_NAME = TetherTest.get_thread_name();

// A GValue holding a G_TYPE_INT64 (a bare number is passed as an int or a
// double).
export function int64Value(number) {
    const value = new GObject.Value();
    value.init(GObject.TYPE_INT64);
    value.set_int64(number);
    return value;
}

// TetherTest.submit_value_async() as a promise of what
// Tether.LoopManager.submit_finish() returns: [true, value]. Also checks
// that the callback came with the manager as its source object.
export function submitValueAsync(manager, taskType, value, delayMs, cancellable = null) {
    return new Promise((resolve, reject) => {
        TetherTest.submit_value_async(manager, taskType, value, delayMs, cancellable,
            (source, result) => {
                try {
                    if (source !== manager)
                        throw new Error(`callback source is ${source}, not the manager`);
                    resolve(manager.submit_finish(result));
                } catch (error) {
                    reject(error);
                }
            });
    });
}

// Runs @body with a new manager started with @taskType, and stops it in
// CANCEL mode afterwards whatever happened, so that no test leaves a thread
// (or work that a DRAIN stop at finalization would wait for) behind.
export async function withManager(id, taskType, body) {
    const manager = new Tether.LoopManager({id});
    manager.start(taskType);
    try {
        return await body(manager);
    } finally {
        manager.stop(Tether.StopMode.CANCEL);
    }
}
