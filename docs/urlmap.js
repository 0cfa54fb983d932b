/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Links into the dependencies' references point at their online docs: this
 * reference may be read where theirs is not installed next to it. */
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
]
