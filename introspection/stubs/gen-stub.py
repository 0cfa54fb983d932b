#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the type stub of ``gi.repository.Tether`` (``Tether.pyi``).

    gen-stub.py OVERRIDE.pyi OUTPUT.pyi

Everything PyGObject derives from the typelib (classes, methods with their
real argument and return types, enums, flags, constants, functions) is read
from the typelib with GIRepository, so the stub follows the C API without
anyone keeping it in step. What the override (gi/overrides/Tether.py and its
modules) changes or adds is hand-written in OVERRIDE.pyi: a class there with
the name of a GI class is merged into it (its bases and its members win, the
GI members it does not define are kept), anything else is copied as is.

GI_TYPELIB_PATH must find the Tether typelib to describe. Run with the Python
that has PyGObject (/usr/bin/python3 on Debian).
"""

import ast
import keyword
import sys

import gi

gi.require_version('GIRepository', '2.0')
from gi.repository import GIRepository as R  # noqa: E402

NAMESPACE = 'Tether'
VERSION = '1.0'

T = R.TypeTag
I = R.InfoType

_BASIC = {
    T.BOOLEAN: 'bool',
    T.INT8: 'int', T.UINT8: 'int', T.INT16: 'int', T.UINT16: 'int',
    T.INT32: 'int', T.UINT32: 'int', T.INT64: 'int', T.UINT64: 'int',
    T.FLOAT: 'float', T.DOUBLE: 'float',
    T.UTF8: 'str', T.FILENAME: 'str', T.UNICHAR: 'str',
    T.GTYPE: 'GObject.GType',
    T.ERROR: 'GLib.Error',
}

# Python keywords GI names can collide with; PyGObject appends '_'.
_KEYWORDS = set(keyword.kwlist)

# Classes the override makes generic.
_GENERIC = {'Future'}


def qualified(info):
    ns, name = info.get_namespace(), info.get_name()
    return name if ns == NAMESPACE else '%s.%s' % (ns, name)


def callback_type(info):
    """A callback's Python type. Its user data is passed through as extra
    arguments, so the parameters are left open."""
    ret = R.callable_info_get_return_type(info)
    result = type_name(ret)
    if R.callable_info_may_return_null(info) and result not in ('None', 'Any', 'object'):
        result += ' | None'
    return 'Callable[..., %s]' % result


def type_name(tinfo):
    tag = R.type_info_get_tag(tinfo)
    if tag == T.VOID:
        return 'object' if R.type_info_is_pointer(tinfo) else 'None'
    if tag in _BASIC:
        return _BASIC[tag]
    if tag == T.ARRAY:
        if R.type_info_get_array_type(tinfo) == R.ArrayType.BYTE_ARRAY:
            return 'bytes'
        elem = type_name(R.type_info_get_param_type(tinfo, 0))
        return 'bytes' if elem == 'int' and \
            R.type_info_get_tag(R.type_info_get_param_type(tinfo, 0)) == T.UINT8 else 'list[%s]' % elem
    if tag in (T.GLIST, T.GSLIST):
        return 'list[%s]' % type_name(R.type_info_get_param_type(tinfo, 0))
    if tag == T.GHASH:
        return 'dict[%s, %s]' % (type_name(R.type_info_get_param_type(tinfo, 0)),
                                 type_name(R.type_info_get_param_type(tinfo, 1)))
    if tag == T.INTERFACE:
        iface = R.type_info_get_interface(tinfo)
        if iface.get_type() == I.CALLBACK:
            return callback_type(iface)
        # Generic in the override (a concurrent.futures.Future of its value).
        if qualified(iface) in _GENERIC:
            return '%s[Any]' % qualified(iface)
        return qualified(iface)
    return 'Any'


def property_type(tinfo):
    """A property's Python type: strings and objects may be None."""
    name = type_name(tinfo)
    tag = R.type_info_get_tag(tinfo)
    if tag == T.UTF8 or (tag == T.INTERFACE and R.type_info_get_interface(tinfo).get_type()
                         in (I.OBJECT, I.INTERFACE, I.STRUCT, I.BOXED)):
        name += ' | None'
    return name


def arg_name(name):
    return name + '_' if name in _KEYWORDS else name


def signature(func, first=None):
    """(parameters, return annotation) of a GI function as PyGObject 3.42
    calls it: closures, destroy notifies and array lengths hidden, out
    arguments returned, trailing nullable arguments optional."""
    n = R.callable_info_get_n_args(func)
    args = [R.callable_info_get_arg(func, i) for i in range(n)]
    hidden = set()
    has_user_data = False
    for i, arg in enumerate(args):
        tinfo = R.arg_info_get_type(arg)
        closure = R.arg_info_get_closure(arg)
        destroy = R.arg_info_get_destroy(arg)
        if R.type_info_get_tag(tinfo) == T.INTERFACE and \
                R.type_info_get_interface(tinfo).get_type() == I.CALLBACK:
            if 0 <= closure < n and closure != i:
                hidden.add(closure)
                has_user_data = True
            if 0 <= destroy < n:
                hidden.add(destroy)
        if R.type_info_get_tag(tinfo) == T.ARRAY:
            length = R.type_info_get_array_length(tinfo)
            if length >= 0:
                hidden.add(length)
    ins, outs = [], []
    ret = R.callable_info_get_return_type(func)
    if not R.callable_info_skip_return(func) and type_name(ret) != 'None':
        rtype = type_name(ret)
        if R.callable_info_may_return_null(func):
            rtype += ' | None'
        outs.append(rtype)
    for i, arg in enumerate(args):
        if i in hidden or R.arg_info_is_skip(arg):
            continue
        direction = R.arg_info_get_direction(arg)
        atype = type_name(R.arg_info_get_type(arg))
        nullable = R.arg_info_may_be_null(arg)
        if direction in (R.Direction.OUT, R.Direction.INOUT):
            outs.append(atype + (' | None' if nullable else ''))
        if direction in (R.Direction.IN, R.Direction.INOUT):
            ins.append((arg_name(arg.get_name()), atype, nullable))
    params = [first] if first else []
    # PyGObject lets trailing nullable arguments be left out.
    optional_from = len(ins)
    while optional_from > 0 and ins[optional_from - 1][2]:
        optional_from -= 1
    for k, (name, atype, nullable) in enumerate(ins):
        annotation = atype + (' | None' if nullable else '')
        params.append('%s: %s%s' % (name, annotation, ' = None' if k >= optional_from else ''))
    if has_user_data:
        params.append('*user_data: Any')
    if not outs:
        result = 'None'
    elif len(outs) == 1:
        result = outs[0]
    else:
        result = 'tuple[%s]' % ', '.join(outs)
    return params, result


def function_lines(func, indent, owner=None):
    flags = R.function_info_get_flags(func)
    name = func.get_name()
    out = []
    if owner is None:
        params, result = signature(func)
    elif flags & R.FunctionInfoFlags.IS_METHOD:
        params, result = signature(func, 'self')
    elif flags & R.FunctionInfoFlags.IS_CONSTRUCTOR:
        params, result = signature(func, 'cls')
        out.append(indent + '@classmethod')
        result = owner
    else:
        params, result = signature(func)
        out.append(indent + '@staticmethod')
    if func.is_deprecated():
        out.insert(0, indent + '# deprecated')
    out.append('%sdef %s(%s) -> %s: ...' % (indent, arg_name(name), ', '.join(params), result))
    return out


class Override:
    """The hand-written part, read from OVERRIDE.pyi."""

    def __init__(self, path):
        with open(path, encoding='utf-8') as f:
            self.source = f.read()
        self.lines = self.source.splitlines()
        self.tree = ast.parse(self.source, path)
        self.classes = {node.name: node for node in self.tree.body
                        if isinstance(node, ast.ClassDef)}

    def start(self, node):
        """The first line of a statement: its decorators and the comment
        lines right above it included."""
        start = min([d.lineno for d in getattr(node, 'decorator_list', [])] + [node.lineno])
        while start > 1 and self.lines[start - 2].strip().startswith('#'):
            start -= 1
        return start

    def segment(self, node):
        return self.lines[self.start(node) - 1:node.end_lineno]

    def member_names(self, cls):
        names = set()
        for node in cls.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return names


def class_members(info):
    """(name, lines) of a GI type's members."""
    kind = info.get_type()
    members = []
    if kind in (I.ENUM, I.FLAGS):
        for i in range(R.enum_info_get_n_values(info)):
            value = R.enum_info_get_value(info, i)
            members.append((value.get_name().upper(),
                            ['    %s = %d' % (value.get_name().upper(),
                                              R.value_info_get_value(value))]))
        methods = [R.enum_info_get_method(info, i) for i in range(R.enum_info_get_n_methods(info))]
    elif kind == I.OBJECT:
        methods = [R.object_info_get_method(info, i)
                   for i in range(R.object_info_get_n_methods(info))]
        props = [R.object_info_get_property(info, i)
                 for i in range(R.object_info_get_n_properties(info))]
        if props:
            # manager.props.debug_flags; no base class: pygobject-stubs'
            # GObject.Object.Props exists in some versions only.
            lines = ['    class Props:']
            for prop in props:
                ptype = R.property_info_get_type(prop)
                lines.append('        %s: %s' % (prop.get_name().replace('-', '_'),
                                                 property_type(ptype)))
            lines.append('    props: Props')
            members.append(('Props', lines))
    elif kind == I.STRUCT:
        methods = [R.struct_info_get_method(info, i)
                   for i in range(R.struct_info_get_n_methods(info))]
    else:
        methods = []
    for func in methods:
        members.append((arg_name(func.get_name()), function_lines(func, '    ', info.get_name())))
    return members


def base_of(info):
    kind = info.get_type()
    if kind == I.ENUM:
        return 'GObject.GEnum'
    if kind == I.FLAGS:
        return 'GObject.GFlags'
    if kind == I.OBJECT:
        parent = R.object_info_get_parent(info)
        return qualified(parent) if parent else 'object'
    if kind == I.STRUCT:
        return 'GObject.GBoxed' if R.registered_type_info_get_type_init(info) != 'intern' \
            and R.registered_type_info_get_type_name(info) else 'GObject.GPointer'
    return 'object'


def class_lines(info, override):
    name = info.get_name()
    hand = override.classes.get(name) if override else None
    members = class_members(info)
    if hand is None:
        out = ['class %s(%s):' % (name, base_of(info))]
        body = [line for _, lines in members for line in lines]
        return out + (body or ['    ...'])
    # The hand-written header (bases, generics) and members win.
    out = override.lines[override.start(hand) - 1:override.start(hand.body[0]) - 1]
    own = override.member_names(hand)
    body = list(hand.body)
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        out.extend(override.segment(body.pop(0)))       # the docstring first
    for member, lines in members:
        if member not in own:
            out.extend(lines)
    for node in body:
        out.extend(override.segment(node))
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    override = Override(argv[1])
    repo = R.Repository.get_default()
    repo.require(NAMESPACE, VERSION, 0)

    infos = [repo.get_info(NAMESPACE, i) for i in range(repo.get_n_infos(NAMESPACE))]
    types = {info.get_name(): info for info in infos
             if info.get_type() in (I.OBJECT, I.STRUCT, I.ENUM, I.FLAGS)}
    out = ['# Generated by introspection/stubs/gen-stub.py from the %s-%s typelib and'
           % (NAMESPACE, VERSION),
           '# introspection/stubs/Tether-override.pyi: do not edit, edit those.',
           '#',
           '# mypy 1.0 refuses to extend pygobject-stubs\' GObject.GEnum ("Cannot extend',
           '# enum with existing members", for its __gtype__ annotation) and sees the',
           '# keyword and C-order overloads of submit() and post() overlap (they cannot:',
           '# the keyword forms take the callable positionally); with pygobject-stubs',
           '# 2.17 it sees each class\'s `props` narrow GObject.Object\'s. Those reports',
           '# are about this file, not about the code checked against it.',
           '# mypy: disable-error-code="misc, assignment"']
    done = set()
    for node in override.tree.body:
        if isinstance(node, ast.ClassDef) and node.name in types:
            out.append('')
            out.extend(class_lines(types[node.name], override))
            done.add(node.name)
        else:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                out.append('')
            out.extend(override.segment(node))

    for info in infos:
        kind, name = info.get_type(), info.get_name()
        if name in done or name in override.classes:
            continue
        if kind in (I.OBJECT, I.STRUCT, I.ENUM, I.FLAGS):
            if kind == I.STRUCT and R.struct_info_is_gtype_struct(info):
                out.extend(['', 'class %s(GObject.GPointer): ...' % name])
                continue
            out.append('')
            out.extend(class_lines(info, None))
        elif kind == I.CONSTANT:
            out.extend(['', '%s: Final[%s]' % (name, type_name(R.constant_info_get_type(info)))])
        elif kind == I.FUNCTION:
            out.append('')
            out.extend(function_lines(info, ''))
        elif kind == I.CALLBACK:
            out.extend(['', '%s = %s' % (name, callback_type(info))])

    text = '\n'.join(out) + '\n'
    with open(argv[2], 'w', encoding='utf-8') as f:
        f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
