# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checked with a stand-in for pygobject-stubs installed (a gi-stubs package
laid out as theirs is, whose modules define PYGOBJECT_STUBS): mypy must take
GLib, GObject and Gio from it, not the fallbacks on MYPYPATH (which would
make PYGOBJECT_STUBS Any), and Tether from MYPYPATH. (gi itself comes from
the python-stubs-gi fallback if that is on MYPYPATH, as documented.) Never
run."""

from typing import assert_type

from gi.repository import Gio, GLib, GObject, Tether

assert_type(GLib.PYGOBJECT_STUBS, bool)
assert_type(GObject.PYGOBJECT_STUBS, bool)
assert_type(Gio.PYGOBJECT_STUBS, bool)
assert_type(Tether.LoopManager.get_or_start('x').submit(len, 'ab'), Tether.PythonFuture[int])
