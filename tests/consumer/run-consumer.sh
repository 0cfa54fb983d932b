#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds and runs tests/consumer/consumer.c outside the Tether tree, the two
# ways another project uses Tether:
#   1. as a meson subproject: dependency('tether-1', fallback: 'tether');
#   2. through pkg-config, against `meson install --destdir` of this build.
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
echo "consumer: both ways built and ran"
