#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Type-checks Python code against the stub of gi.repository.Tether.

    check-types.py BUILT-Tether.pyi SOURCE-ROOT

Lays out the built stub as the installed tree is laid out (gi/repository/
Tether.pyi, plus the fallback GLib/GObject/Gio/gi stubs, exactly the MYPYPATH
that `pkg-config --variable=mypypath tether-1` gives), then runs mypy:

1. --strict over tests/types/typed_sample.py, which uses every keyword form
   and pins inferred types with assert_type();
2. --strict over examples/python/*.py and tests/bench/tether-bench.py, less
   the rules that ask every function and generic to be annotated (they are
   examples, not typed code); their bodies are still checked;
3. --strict over tests/types/negative.py, which must FAIL with exactly the
   errors its `# E: code ...` comments name, on those lines: a stub that
   accepts a wrong call, or rejects a right one, fails this test;
4. 1 and 3 again, and tests/types/with_pygobject_stubs.py, with a stand-in
   for pygobject-stubs installed: the same MYPYPATH must work with them.

Exits 77 (skipped) if mypy is not installed; .ci/install-deps installs it.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

RELAXED = ['--allow-untyped-defs', '--allow-incomplete-defs', '--allow-untyped-calls',
           '--allow-any-generics', '--no-warn-return-any']
ERROR = re.compile(r'^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$')
MARK = re.compile(r'#\s*E:\s*(?P<codes>[a-z -]+)$')


def mypy(argv, env, cache):
    cmd = [MYPY, '--strict', '--no-error-summary', '--show-error-codes',
           '--no-color-output', '--cache-dir', cache] + argv
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)
    return proc.returncode, proc.stdout


def expected_errors(path):
    expected = {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            match = MARK.search(line)
            if match:
                expected[number] = set(match.group('codes').split())
    return expected


def make_pygobject_stubs(root, package):
    """A stand-in for pygobject-stubs: the fallback stubs, each with a
    PYGOBJECT_STUBS marker, in a gi-stubs package."""
    fallback = os.path.join(root, 'introspection', 'stubs', 'fallback', 'gi', 'repository')
    os.makedirs(os.path.join(package, 'repository'))
    sources = [(os.path.join(root, 'introspection', 'stubs', 'fallback-gi', 'gi', '__init__.pyi'),
                os.path.join(package, '__init__.pyi'))]
    sources += [(os.path.join(fallback, name), os.path.join(package, 'repository', name))
                for name in ('GLib.pyi', 'GObject.pyi', 'Gio.pyi')]
    for source, target in sources:
        with open(source, encoding='utf-8') as f:
            text = f.read()
        text = text.replace('class GEnum(enum.IntEnum):\n',
                            'class GEnum(enum.IntEnum):\n    __gtype__: ClassVar[GType]\n')
        text = text.replace('from typing import Any\n', 'from typing import Any, ClassVar\n')
        with open(target, 'w', encoding='utf-8') as f:
            f.write(text + '\nPYGOBJECT_STUBS: bool\n')


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    stub, root = argv[1], argv[2]
    if MYPY is None:
        print('mypy is not installed: skipped (apt-get install mypy)')
        return 77
    here = os.path.join(root, 'tests', 'types')
    with tempfile.TemporaryDirectory(prefix='tether-types-') as tmp:
        tree = os.path.join(tmp, 'stubs')
        os.makedirs(os.path.join(tree, 'gi', 'repository'))
        shutil.copy(stub, os.path.join(tree, 'gi', 'repository', 'Tether.pyi'))
        env = dict(os.environ)
        env['MYPYPATH'] = os.pathsep.join([
            tree,
            os.path.join(root, 'introspection', 'stubs', 'fallback'),
            os.path.join(root, 'introspection', 'stubs', 'fallback-gi')])
        cache = os.path.join(tmp, 'cache')
        failed = False

        sample = os.path.join(here, 'typed_sample.py')
        rc, out = mypy([sample], env, cache)
        print('# mypy --strict %s: exit %d\n%s' % (sample, rc, out))
        failed |= rc != 0

        examples = sorted(glob.glob(os.path.join(root, 'examples', 'python', '*.py')))
        examples.append(os.path.join(root, 'tests', 'bench', 'tether-bench.py'))
        rc, out = mypy(RELAXED + examples, env, cache)
        print('# mypy --strict %s over the examples and the bench: exit %d\n%s'
              % (' '.join(RELAXED), rc, out))
        failed |= rc != 0

        negative = os.path.join(here, 'negative.py')
        rc, out = mypy([negative], env, cache)
        print('# mypy --strict %s (must fail): exit %d' % (negative, rc))
        reported = {}
        for line in out.splitlines():
            match = ERROR.match(line)
            if match and os.path.samefile(match.group('file'), negative):
                reported.setdefault(int(match.group('line')), set()).add(match.group('code'))
            elif match:
                print('unexpected error outside the file: ' + line)
                failed = True
        expected = expected_errors(negative)
        if rc == 0:
            print('FAIL: mypy accepted the deliberate type errors')
            failed = True
        for number in sorted(set(expected) | set(reported)):
            want, got = expected.get(number, set()), reported.get(number, set())
            if want != got:
                print('FAIL: %s:%d: expected errors %s, mypy reported %s'
                      % (negative, number, sorted(want) or 'none', sorted(got) or 'none'))
                failed = True
        if not failed:
            print('all %d deliberate errors rejected, nothing else' % len(expected))
        else:
            print(out)

        # 4. With pygobject-stubs installed, which the same MYPYPATH must not
        # break: a stand-in laid out as theirs (no py.typed, no
        # repository/__init__.pyi), found through PYTHONPATH as mypy finds
        # site-packages, whose GEnum has the __gtype__ annotation mypy 1.0
        # refuses to extend.
        site = os.path.join(tmp, 'site')
        make_pygobject_stubs(root, os.path.join(site, 'gi-stubs'))
        stubs_env = dict(env, PYTHONPATH=site)
        for sample in ('with_pygobject_stubs.py', 'typed_sample.py'):
            rc, out = mypy([os.path.join(here, sample)], stubs_env, cache + '-stubs')
            print('# mypy --strict %s with pygobject-stubs: exit %d\n%s' % (sample, rc, out))
            failed |= rc != 0
        # Without python-stubs-gi, as docs/python.md allows with pygobject-stubs.
        short_env = dict(stubs_env, MYPYPATH=os.pathsep.join(env['MYPYPATH'].split(os.pathsep)[:2]))
        rc, out = mypy([os.path.join(here, 'with_pygobject_stubs.py')], short_env, cache + '-short')
        print('# the same without python-stubs-gi on MYPYPATH: exit %d\n%s' % (rc, out))
        failed |= rc != 0
        rc, out = mypy([negative], stubs_env, cache + '-stubs')
        count = sum(1 for line in out.splitlines() if ERROR.match(line))
        print('# mypy --strict %s with pygobject-stubs: %d errors' % (negative, count))
        if count != sum(len(codes) for codes in expected.values()):
            print('FAIL: expected %d\n%s' % (sum(len(c) for c in expected.values()), out))
            failed = True
    return 1 if failed else 0


MYPY = shutil.which('mypy')

if __name__ == '__main__':
    sys.exit(main(sys.argv))
