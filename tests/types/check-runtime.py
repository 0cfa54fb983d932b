#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the hand-written part of the Tether stub against the runtime.

    check-runtime.py introspection/stubs/Tether-override.pyi

Every public class, function and constant the stub's override part declares
must exist in gi.repository.Tether, with every method and attribute it
declares, and a class the stub derives from concurrent.futures.Future,
threading.Thread, LookupError, TimeoutError, ValueError or GLib.Error must
derive from it at run time. What the typelib gives is generated, so it
cannot drift; this is the part that can.
"""

import ast
import concurrent.futures
import sys
import threading

import gi
gi.require_version('Tether', '1.0')
from gi.repository import GLib, Tether  # noqa: E402

BASES = {
    'concurrent.futures.Future': concurrent.futures.Future,
    'concurrent.futures.Executor': concurrent.futures.Executor,
    'threading.Thread': threading.Thread,
    'GLib.Error': GLib.Error,
    'LookupError': LookupError,
    'TimeoutError': TimeoutError,
    'ValueError': ValueError,
}


def main(path):
    if not hasattr(Tether, 'PythonFuture'):
        # The stub describes issue 14's API, which lands in parts.
        print('Tether.PythonFuture is missing: this tree predates the fast lane; skipped')
        return 77
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    problems = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith('_'):
            runtime = getattr(Tether, node.name, None)
            if runtime is None:
                problems.append('Tether.%s is missing' % node.name)
                continue
            for base in node.bases:
                name = ast.unparse(base).split('[')[0]
                if isinstance(base, ast.Subscript):
                    # Generic in the stub: Tether.Future[int] in an annotation
                    # that Python evaluates must work too.
                    try:
                        runtime[int]
                    except TypeError as error:
                        problems.append('Tether.%s[int] raises %s' % (node.name, error))
                if name in BASES and not issubclass(runtime, BASES[name]):
                    problems.append('Tether.%s is not a %s' % (node.name, name))
                elif name in [n.name for n in tree.body if isinstance(n, ast.ClassDef)]:
                    if not issubclass(runtime, getattr(Tether, name)):
                        problems.append('Tether.%s is not a Tether.%s' % (node.name, name))
            for member in node.body:
                names = []
                if isinstance(member, ast.FunctionDef):
                    names = [member.name]
                elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    names = [member.target.id]
                for name in names:
                    if not hasattr(runtime, name):
                        problems.append('Tether.%s.%s is missing' % (node.name, name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not node.target.id.startswith('_') and not hasattr(Tether, node.target.id):
                problems.append('Tether.%s is missing' % node.target.id)
    for problem in sorted(set(problems)):
        print(problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
