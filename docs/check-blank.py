#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fails if a symbol's documentation in the GIR says nothing but where it
may be called from: a comment whose only text is a "Thread:" line renders as
a blank page (gi-docgen reads "Thread:" as a tag), and `gi-docgen check`
counts it as documented."""

import sys
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
KINDS = ('class', 'record', 'interface', 'enumeration', 'bitfield', 'function', 'method',
         'constructor', 'virtual-method', 'property', 'glib:signal', 'callback')


def tag(kind):
    if kind.startswith('glib:'):
        return '{http://www.gtk.org/introspection/glib/1.0}' + kind[5:]
    return CORE + kind


def says_something(text):
    lines = [line.strip() for line in text.splitlines()]
    return any(line and not line.startswith('Thread:') for line in lines)


def main(path):
    root = ET.parse(path).getroot()
    blank = []
    # The vfunc slots of a class or interface struct: gi-docgen documents
    # them as the type's virtual methods, which are checked as such.
    slots = set()
    for record in root.iter(CORE + 'record'):
        if record.get('{http://www.gtk.org/introspection/glib/1.0}is-gtype-struct-for'):
            slots.update(record.iter(CORE + 'callback'))
    for kind in KINDS:
        for element in root.iter(tag(kind)):
            if element.get('{http://www.gtk.org/introspection/glib/1.0}is-gtype-struct-for'):
                continue        # a class struct: gi-docgen gives it no page
            if element in slots:
                continue
            doc = element.find(CORE + 'doc')
            name = element.get('{http://www.gtk.org/introspection/c/1.0}identifier') \
                or element.get('{http://www.gtk.org/introspection/c/1.0}type') \
                or element.get('name')
            if doc is None or not says_something(doc.text or ''):
                blank.append('%s %s' % (kind, name))
    for entry in blank:
        print('blank or missing documentation:', entry)
    print('%d symbols checked, %d blank' % (sum(1 for k in KINDS for _ in root.iter(tag(k))),
                                            len(blank)))
    return 1 if blank else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
