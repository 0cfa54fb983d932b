// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A tiny test harness for the GJS tests: asserts, and runTests(), which runs
// async test cases in order inside a GLib.MainLoop and prints TAP.
//
// `gjs -m` exits with status 0 when an exception is thrown inside a main-loop
// callback (it is only logged), so runTests() catches everything, quits the
// loop and rethrows at the top level of the module, which makes gjs exit
// with status 1.

import GLib from 'gi://GLib';

// How long a test blocks in Tether.Future.wait() or waits for a callback
// before it gives up. Generous: nothing should come close to it.
export const WAIT_USEC = 20 * 1000 * 1000;
const CASE_TIMEOUT_MS = 30 * 1000;

export class AssertionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'AssertionError';
    }
}

function describe(value) {
    if (typeof value === 'string')
        return JSON.stringify(value);
    if (typeof value === 'bigint')
        return `${value}n`;
    try {
        return String(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

function fail(message, what) {
    throw new AssertionError(what ? `${what}: ${message}` : message);
}

export function assert(condition, what) {
    if (!condition)
        fail('assertion failed', what);
}

export function assertEqual(actual, expected, what) {
    if (!Object.is(actual, expected))
        fail(`expected ${describe(expected)}, got ${describe(actual)}`, what);
}

export function assertNotEqual(actual, unexpected, what) {
    if (Object.is(actual, unexpected))
        fail(`expected anything but ${describe(unexpected)}`, what);
}

// Compares plain data (what GLib.Variant.recursiveUnpack() gives).
export function assertDeepEqual(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e)
        fail(`expected ${e}, got ${a}`, what);
}

export function assertMatch(string, regexp, what) {
    if (typeof string !== 'string' || !regexp.test(string))
        fail(`${describe(string)} does not match ${regexp}`, what);
}

// Checks that @error is a GLib.Error in @domain (a quark or an enum class
// such as Gio.IOErrorEnum) with @code, and returns it.
export function assertGError(error, domain, code, what) {
    if (!(error instanceof GLib.Error))
        fail(`expected a GLib.Error, got ${describe(error)}`, what);
    if (!error.matches(domain, code))
        fail(`expected error code ${code} in domain ${describe(domain)}, got ${describe(error)} (domain ${error.domain}, code ${error.code})`, what);
    return error;
}

// Calls @func, which must throw a GLib.Error (@domain, @code); returns it.
export function assertThrowsGError(func, domain, code, what) {
    try {
        func();
    } catch (error) {
        return assertGError(error, domain, code, what);
    }
    return fail(`expected a GLib.Error with code ${code}, nothing was thrown`, what);
}

// Awaits @promise, which must reject with a GLib.Error (@domain, @code).
export async function assertRejectsGError(promise, domain, code, what) {
    try {
        await promise;
    } catch (error) {
        return assertGError(error, domain, code, what);
    }
    return fail(`expected a GLib.Error with code ${code}, the promise resolved`, what);
}

// Resolves once the main loop has dispatched everything already pending at
// default priority (an idle at low priority runs after them).
export function drainMainContext() {
    return new Promise(resolve => {
        GLib.idle_add(GLib.PRIORITY_LOW, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

function withTimeout(promise, name) {
    let id = 0;
    const timeout = new Promise((_resolve, reject) => {
        id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, CASE_TIMEOUT_MS, () => {
            id = 0;
            reject(new AssertionError(`"${name}" did not finish within ${CASE_TIMEOUT_MS} ms`));
            return GLib.SOURCE_REMOVE;
        });
    });
    return Promise.race([promise, timeout]).finally(() => {
        if (id !== 0)
            GLib.source_remove(id);
    });
}

function diagnose(error) {
    const text = error instanceof Error || error instanceof GLib.Error
        ? `${error}\n${error.stack ?? ''}`
        : describe(error);
    for (const line of text.trimEnd().split('\n'))
        print(`# ${line}`);
}

// Runs @tests, a list of [name, async function], in order, and prints TAP.
// Throws at the end if any failed, so call it at the top level of the test
// module.
export function runTests(tests) {
    const loop = new GLib.MainLoop(null, false);
    let failed = 0;
    let fatal = null;

    async function main() {
        print(`1..${tests.length}`);
        for (const [index, [name, test]] of tests.entries()) {
            const n = index + 1;
            try {
                await withTimeout(Promise.resolve().then(test), name);
                print(`ok ${n} - ${name}`);
            } catch (error) {
                failed++;
                print(`not ok ${n} - ${name}`);
                diagnose(error);
            }
        }
    }

    main().catch(error => {
        fatal = error;
    }).finally(() => loop.quit());
    loop.run();

    if (fatal !== null)
        throw fatal;
    if (failed > 0)
        throw new Error(`${failed} of ${tests.length} tests failed`);
}
