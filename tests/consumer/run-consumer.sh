#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds and runs tests/consumer/consumer.c outside the Tether tree, the two
# ways another project uses Tether:
#   1. as a meson subproject: dependency('tether-1', fallback: 'tether');
#   2. through pkg-config, against `meson install --destdir` of this build;
#   3. from Python and GJS, with the typelib, library and Python override of
#      that installed prefix only (when this build has introspection).
# Usage: run-consumer.sh SOURCE_ROOT BUILD_DIR. Exit 77 (skip) without the tools.
set -eu
src=$1
build=$2
here=$src/tests/consumer
for tool in meson ninja pkg-config cc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "skip: no $tool"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# 1. Tether as a meson subproject"
mkdir -p "$tmp/sub/subprojects"
cp "$here/consumer.c" "$tmp/sub/"
cp "$here/meson.build.in" "$tmp/sub/meson.build"
# A copy of the tracked sources, not of build directories.
mkdir "$tmp/sub/subprojects/tether"
(cd "$src" && git ls-files -z 2>/dev/null || find . -path './_build*' -prune -o -type f -print0) |
  (cd "$src" && xargs -0 cp --parents -t "$tmp/sub/subprojects/tether")
meson setup --wrap-mode=nodownload "$tmp/sub/_build" "$tmp/sub" >"$tmp/sub.log" 2>&1 ||
  { cat "$tmp/sub.log"; exit 1; }
ninja -C "$tmp/sub/_build" >>"$tmp/sub.log" 2>&1 || { cat "$tmp/sub.log"; exit 1; }
"$tmp/sub/_build/consumer"
# The heavy parts default to off in a subproject.
if find "$tmp/sub/_build" -name '*.typelib' -o -name 'test-manager' -o -name 'tether-demo' |
   grep -q .; then
  echo "the subproject built introspection, tests or examples by default"; exit 1
fi

echo "# 2. Tether from an installed prefix, through pkg-config"
DESTDIR="$tmp/stage" meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/stage" -name tether-1.pc | head -n 1)
[ -n "$pc" ] || { echo "no tether-1.pc installed"; exit 1; }
# Relocate the staged .pc: its prefix, and nothing else (gio-2.0 and
# glib stay the system's).
mkdir "$tmp/pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed "s|^prefix=.*|prefix=$tmp/stage$prefix|" "$pc" >"$tmp/pc/tether-1.pc"
flags=$(PKG_CONFIG_PATH="$tmp/pc" pkg-config --cflags --libs tether-1)
# shellcheck disable=SC2086
cc -o "$tmp/consumer-pc" "$here/consumer.c" $flags
libdir=$(PKG_CONFIG_PATH="$tmp/pc" pkg-config --variable=libdir tether-1)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer-pc"

echo "# 3. Python and GJS from the installed prefix only"
typelib=$(find "$tmp/stage" -name 'Tether-1.0.typelib' | head -n 1)
if [ -z "$typelib" ]; then
  echo "consumer: both C ways built and ran (no introspection in this build: no Python or GJS)"
  exit 0
fi
typelib_dir=$(dirname "$typelib")
override=$(find "$tmp/stage" -path '*/gi/overrides/Tether.py' | head -n 1)
[ -n "$override" ] || { echo "no Python override installed"; exit 1; }
site=$(dirname "$(dirname "$(dirname "$override")")")
env -u PYTHONPATH GI_TYPELIB_PATH="$typelib_dir" LD_LIBRARY_PATH="$libdir" \
  PYTHONPATH="$site" STAGE="$tmp/stage" /usr/bin/python3 - <<'PY'
import os
import gi
gi.require_version('Tether', '1.0')
from gi.repository import GIRepository, Tether
import gi.overrides.Tether as override

stage = os.environ['STAGE']
assert override.__file__.startswith(stage), override.__file__
assert GIRepository.Repository.get_default().get_typelib_path('Tether').startswith(stage)
manager = Tether.LoopManager.get_or_start('consumer-py')
assert manager.submit(lambda: 6 * 7).result(5) == 42
manager.stop()
print('python: the installed override and typelib, a round trip')
PY
if command -v gjs >/dev/null 2>&1; then
  GI_TYPELIB_PATH="$typelib_dir" LD_LIBRARY_PATH="$libdir" STAGE="$tmp/stage" gjs -c '
    imports.gi.versions.Tether = "1.0";
    const {GIRepository, GLib, Tether} = imports.gi;
    const stage = GLib.getenv("STAGE");
    if (!GIRepository.Repository.get_default().get_typelib_path("Tether").startsWith(stage))
        throw new Error("Tether was not loaded from the installed prefix");
    const manager = Tether.LoopManager.new("consumer-gjs");
    manager.start(null);
    if (!manager.running)
        throw new Error("the manager did not start");
    manager.stop(Tether.StopMode.DRAIN);
    print("gjs: the installed typelib, a manager started and stopped");'
else
  echo "gjs: not installed, skipped"
fi
echo "consumer: C as a subproject and through pkg-config, Python and GJS from the prefix"
