/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tether from Vala, through tether-1.vapi: start a manager, submit work
 * (a lambda, run on the manager's thread), block for its value, read it
 * with a typed getter, see a work error come back as a Vala error, stop. */

int main () {
    var manager = new Tether.LoopManager ("vala");
    try {
        manager.start (null);

        var caller = GLib.Thread.self<void*> ();
        var future = manager.submit (null, (work) => {
            // The manager's own thread, never the caller's.
            work.return_int (GLib.Thread.self<void*> () == caller ? -1 : 42);
        }, null);
        future.wait (5 * GLib.TimeSpan.SECOND, null);
        var value = future.get_int ();
        if (value != 42) {
            stderr.printf ("not ok - expected 42 from the manager's thread, got %d\n", value);
            return 1;
        }
        print ("ok 1 - submit, wait and get_int\n");

        var failing = manager.submit (null, (work) => {
            work.return_error (new GLib.Error (Tether.Error.quark (), Tether.Error.FAILED, "on purpose"));
        }, null);
        try {
            failing.wait (5 * GLib.TimeSpan.SECOND, null);
            stderr.printf ("not ok - the failing work succeeded\n");
            return 1;
        } catch (GLib.Error e) {
            if (!e.matches (Tether.Error.quark (), Tether.Error.FAILED) || e.message != "on purpose") {
                stderr.printf ("not ok - wrong error: %s\n", e.message);
                return 1;
            }
        }
        print ("ok 2 - a work error is a Vala error\n");
    } catch (GLib.Error e) {
        stderr.printf ("not ok - %s\n", e.message);
        return 1;
    }
    manager.stop (Tether.StopMode.DRAIN);
    print ("1..2\n");
    return 0;
}
