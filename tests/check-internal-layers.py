#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fails if src/'s internal modules depend on each other in a circle, or if
a file reaches into a struct another file owns.

A module is a .c file with its -private.h header; module A depends on B when
A's .c or header includes B's private header. docs/internals.md promises
these dependencies form layers (a DAG), so that one submission can be
followed from submit() down to the waiter without going back and forth.
The struct check covers the structs whose definitions are private to their
.c file: no other file may spell `struct _Name {`."""
import os
import re
import sys

src = os.path.join(sys.argv[1] if len(sys.argv) > 1 else '.', 'src')
include = re.compile(r'#include "tether-([a-z0-9-]+)-private\.h"')
modules = sorted(f[len('tether-'):-2] for f in os.listdir(src)
                 if f.startswith('tether-') and f.endswith('.c'))
deps = {}
for m in modules:
    found = set()
    for name in ('tether-%s.c' % m, 'tether-%s-private.h' % m):
        path = os.path.join(src, name)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                found.update(include.findall(f.read()))
    found.discard(m)
    deps[m] = sorted(d for d in found if d in modules)

failures = []
state = {}


def visit(m, stack):
    state[m] = 'open'
    for d in deps[m]:
        if state.get(d) == 'open':
            cycle = stack[stack.index(d):] + [d]
            failures.append('circle: ' + ' -> '.join(cycle))
        elif d not in state:
            visit(d, stack + [d])
    state[m] = 'done'


for m in modules:
    if m not in state:
        visit(m, [m])

# Structs private to one file: defined in its .c only.
for m in ('core', 'lineage'):
    path = os.path.join(src, 'tether-%s.c' % m)
    with open(path, encoding='utf-8') as f:
        names = re.findall(r'^struct (_Tether\w+)\s*$', f.read(), re.M)
    for other in os.listdir(src):
        if other == 'tether-%s.c' % m or not other.startswith('tether-'):
            continue
        with open(os.path.join(src, other), encoding='utf-8') as f:
            text = f.read()
        for name in names:
            if re.search(r'^struct %s\s*$' % name, text, re.M):
                failures.append('%s is defined outside tether-%s.c, in %s' % (name, m, other))

for m in modules:
    print('%-14s -> %s' % (m, ', '.join(deps[m]) or '(nothing)'))
if failures:
    print('\n'.join(failures))
    sys.exit(1)
