/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hand-written part of tether-1.vapi (see Tether-1.0.metadata). */

namespace Tether {
	[CCode (cheader_filename = "tether.h", cname = "tether_thread_new")]
	[Version (since = "1.0")]
	public static GLib.Thread<void*> thread_new (string? name, owned GLib.ThreadFunc<void*> func);
	[CCode (cheader_filename = "tether.h", cname = "tether_thread_try_new")]
	[Version (since = "1.0")]
	public static GLib.Thread<void*> thread_try_new (string? name, owned GLib.ThreadFunc<void*> func) throws GLib.Error;
}
