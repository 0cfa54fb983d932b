#!/usr/bin/env bash
# TetherWorkFunc (submit, submit_after, submit_at, submit_async) and
# TetherFunc (post, exit functions) are distinct types, so that handing one
# where the other is expected does not compile (with the warning GCC and
# Clang give by default, made an error here). Checks both directions, and
# that the right types do compile, so the test can fail either way.
# Usage: check-func-types.sh <source root> <build root> <cc> [cc args...]
set -u
src=$1 build=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
flags=(-fsyntax-only -Werror=incompatible-pointer-types
       -I"$src/src" -I"$build/src" -I"$build"
       $(pkg-config --cflags gio-2.0))

compile () {
  local code=$1
  shift
  cat > "$dir/t.c" <<C
#include <tether.h>
static void work_func (TetherWork *work, gpointer data) { tether_work_return_int (work, 1); }
static void post_func (gpointer data) { }
void check (TetherLoopManager *m);
void check (TetherLoopManager *m) { $code }
C
  "$@" "${flags[@]}" "$dir/t.c" 2>"$dir/err"
}

status=0
expect () {
  local want=$1 what=$2 code=$3
  shift 3
  if compile "$code" "$@"; then
    got=compiles
  elif grep -Eq 'incompatible(-function)?-pointer-types' "$dir/err"; then
    got=rejected
  else
    got="broken (another error)"
  fi
  if [ "$got" = "$want" ]; then
    echo "ok - $what: $got"
  else
    echo "not ok - $what: $got, expected $want"; cat "$dir/err"; status=1
  fi
}

expect compiles "submit with a TetherWorkFunc" \
  "g_object_unref (tether_loop_manager_submit (m, NULL, work_func, NULL, NULL, NULL, NULL));" "$@"
expect compiles "post with a TetherFunc" \
  "tether_loop_manager_post (m, NULL, post_func, NULL, NULL, NULL);" "$@"
expect rejected "submit with a TetherFunc" \
  "g_object_unref (tether_loop_manager_submit (m, NULL, post_func, NULL, NULL, NULL, NULL));" "$@"
expect rejected "post with a TetherWorkFunc" \
  "tether_loop_manager_post (m, NULL, work_func, NULL, NULL, NULL);" "$@"
expect rejected "submit_async with a TetherFunc" \
  "tether_loop_manager_submit_async (m, NULL, post_func, NULL, NULL, G_PRIORITY_DEFAULT, NULL, NULL, NULL);" "$@"
exit $status
