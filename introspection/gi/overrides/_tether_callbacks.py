# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where done callbacks of futures run.

By default on one daemon thread per process, ``tether-callbacks``, which runs
a GLib main loop on a context of its own: never on a manager's thread, never
inside ``submit()`` or ``cancel()``. A caller may name another
``GLib.MainContext`` instead (the GTK main context, say); the callback then
runs when that context is iterated.
"""

import logging
import threading

from gi.repository import GLib

_log = logging.getLogger('gi.overrides.Tether')


class _CallbackThread:
    """The default place: started on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._context = None

    def _run(self, started):
        context = GLib.MainContext.new()
        context.push_thread_default()
        loop = GLib.MainLoop.new(context, False)
        self._context = context
        started.set()
        loop.run()

    def context(self):
        with self._lock:
            if self._context is None:
                started = threading.Event()
                threading.Thread(target=self._run, args=(started,),
                                 name='tether-callbacks', daemon=True).start()
                started.wait()
            return self._context


_callback_thread = _CallbackThread()


def default_context():
    """The context of the ``tether-callbacks`` thread, started if needed."""
    return _callback_thread.context()


def run_logged(fn, *args):
    """Calls ``fn(*args)``; logs and swallows whatever it raises.

    BaseException: a SystemExit or KeyboardInterrupt escaping a callback
    would end the callback thread, and every later done callback and every
    await of a Tether future would wait for ever.
    """
    try:
        fn(*args)
    except BaseException:
        _log.exception('Done callback %r raised', fn)


def invoke(context, func, *args):
    """Runs ``func(*args)`` once in ``context`` (None: the callback thread)."""
    if context is None:
        context = _callback_thread.context()
    context.invoke_full(GLib.PRIORITY_DEFAULT, func, *args)
