#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Drives examples/service/tether-service over D-Bus with gdbus and prints TAP.
#
#   dbus-run-session -- bash tests/service/test-service.sh _build/examples/service/tether-service
#
# It must run on a private session bus (dbus-run-session): it starts and
# stops the service, and refuses to run if the name is already owned. Every
# wait has a timeout and the EXIT trap kills whatever is left, so a broken
# service fails the test instead of hanging it.
set -u

SERVICE=${1:?usage: test-service.sh PATH/TO/tether-service}
NAME=org.gnome.Tether.Example
OBJECT=/org/gnome/Tether/Example
IFACE=org.gnome.Tether.Example
ERR=org.gnome.Tether.Example.Error

# A critical or warning in the service makes it abort, so its exit status
# (checked below) catches them.
export G_DEBUG=fatal-warnings
export G_MESSAGES_DEBUG=TetherService

tmp=$(mktemp -d)
service_pid=
log=
n_started=0
background_pids=()
n=0
failures=0

# shellcheck disable=SC2317  # run by the trap
cleanup ()
{
  local pid
  # timeout(1) passes TERM on to its gdbus; the service is killed outright,
  # since TERM would make it drain first.
  for pid in "${background_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  [ -n "$service_pid" ] && kill -KILL "$service_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok ()
{
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok ()
{
  n=$((n + 1))
  failures=$((failures + 1))
  echo "not ok $n - $1"
  shift
  local line
  for line in "$@"; do
    echo "# $line"
  done
}

# check DESCRIPTION EXPECTED ACTUAL
check ()
{
  if [ "$2" = "$3" ]; then
    ok "$1"
  else
    not_ok "$1" "expected: $2" "got:      $3"
  fi
}

# check_match DESCRIPTION GLOB ACTUAL
check_match ()
{
  # shellcheck disable=SC2053
  if [[ "$3" == $2 ]]; then
    ok "$1"
  else
    not_ok "$1" "expected to match: $2" "got: $3"
  fi
}

bail_out ()
{
  echo "Bail out! $1"
  dump_logs
  exit 1
}

# call METHOD ARGS...: the reply, or gdbus's error line. gdbus gives up
# after 10 s and timeout(1) kills it after 15 s should gdbus itself hang.
call ()
{
  local method=$1
  shift
  timeout 15 gdbus call --session --timeout 10 --dest "$NAME" --object-path "$OBJECT" \
    --method "$IFACE.$method" "$@" 2>&1
}

# call_bg OUTFILE METHOD ARGS...: the same in the background; $! is the
# timeout(1) process, alive exactly as long as the call is pending.
call_bg ()
{
  local out=$1 method=$2
  shift 2
  timeout 15 gdbus call --session --timeout 10 --dest "$NAME" --object-path "$OBJECT" \
    --method "$IFACE.$method" "$@" >"$out" 2>&1 &
  background_pids+=($!)
}

# alive PID: whether the process is still running (not yet reaped).
alive ()
{
  kill -0 "$1" 2>/dev/null
}

# wait_gone PID SECONDS: wait for PID to exit; 1 if it still runs after that.
wait_gone ()
{
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.02
  done
  return 0
}

# wait_for SECONDS COMMAND...: poll COMMAND until it succeeds.
wait_for ()
{
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.02
  done
  return 0
}

name_owned ()
{
  [ "$(timeout 5 gdbus call --session --dest org.freedesktop.DBus \
         --object-path /org/freedesktop/DBus \
         --method org.freedesktop.DBus.NameHasOwner "$NAME" 2>/dev/null)" = "(true,)" ]
}

name_free ()
{
  ! name_owned
}

dump_logs ()
{
  local f
  for f in "$tmp"/service-*.log; do
    [ -f "$f" ] && sed "s|^|# ${f##*/}: |" "$f"
  done
}

# start_service: starts an instance with a log of its own and waits for its
# name; bails out if it does not show up in time.
start_service ()
{
  n_started=$((n_started + 1))
  log=$tmp/service-$n_started.log
  "$SERVICE" >"$log" 2>&1 &
  service_pid=$!
  wait_for 5 name_owned || bail_out "the service did not take $NAME within 5 s"
}

# check_service_exit DESCRIPTION: the service exits 0 within 10 s.
check_service_exit ()
{
  local status
  if ! wait_gone "$service_pid" 10; then
    not_ok "$1" "the service was still running 10 s later"
    return
  fi
  wait "$service_pid"
  status=$?
  service_pid=
  check "$1" 0 "$status"
}

# logged TEXT: whether the running instance's log has a line containing TEXT.
# shellcheck disable=SC2317  # run through wait_for
logged ()
{
  grep -qF -- "$1" "$log"
}

# stat MANAGER KEY STATS: one number from GetStats' reply (GVariant text).
stat ()
{
  grep -o "'$1': {[^}]*}" <<<"$3" | grep -o "'$2': <[a-z0-9]* *[0-9-]*>" |
    sed 's/.*[ <]\([0-9-]*\)>$/\1/'
}

command -v gdbus >/dev/null || bail_out "gdbus not found"
[ -x "$SERVICE" ] || bail_out "$SERVICE is not an executable"
name_free || bail_out "$NAME is already owned: run this under dbus-run-session"

start_service
ok "the service takes $NAME on the session bus"

# HashFile: 200000 bytes span three full 64 KiB chunks and a partial one.
head -c 200000 /dev/urandom >"$tmp/data"
: >"$tmp/empty"
want=$(sha256sum "$tmp/data" | cut -d' ' -f1)
check "HashFile matches sha256sum and the size" \
  "('$want', uint64 200000)" "$(call HashFile "'$tmp/data'")"
check "HashFile of an empty file" \
  "('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', uint64 0)" \
  "$(call HashFile "'$tmp/empty'")"
check_match "HashFile of a missing file is a NotFound error naming the file" \
  "Error: GDBus.Error:$ERR.NotFound: *$tmp/missing*No such file*" \
  "$(call HashFile "'$tmp/missing'")"
check_match "HashFile of a relative path is refused" \
  "Error: GDBus.Error:$ERR.InvalidArgument: *absolute path*" \
  "$(call HashFile "'relative/path'")"

# Compute: the sum of the primes below n.
for pair in 0:0 2:0 3:2 10:17 1000:76127 2000000:142913828922; do
  check "Compute(${pair%%:*}) = ${pair#*:}" "(uint64 ${pair#*:},)" "$(call Compute "${pair%%:*}")"
done
check_match "Compute beyond its limit is refused" \
  "Error: GDBus.Error:$ERR.InvalidArgument: *" "$(call Compute 4000000000)"

# Eight calls at once, on both managers; each must get its own reply.
launch ()
{
  case $1 in
    sleep*) call_bg "$tmp/$1.out" Sleep "${1#sleep}" ;;
    compute*) call_bg "$tmp/$1.out" Compute "${1#compute}" ;;
    hash) call_bg "$tmp/$1.out" HashFile "'$tmp/data'" ;;
    empty) call_bg "$tmp/$1.out" HashFile "'$tmp/empty'" ;;
  esac
}
keys=(sleep300 hash compute1000000 sleep100 compute100 empty sleep200 compute10)
pids=()
for key in "${keys[@]}"; do
  launch "$key"
  pids+=($!)
done
timed_out=0
for pid in "${pids[@]}"; do
  wait_gone "$pid" 15 || timed_out=1
done
replies=()
bad=()
for key in "${keys[@]}"; do
  reply=$(cat "$tmp/$key.out")
  replies+=("$key: $reply")
  case $key in
    sleep*)
      ms=${key#sleep}
      slept=$(sed -n 's/^(uint32 \([0-9]*\),)$/\1/p' <<<"$reply")
      [ -n "$slept" ] && [ "$slept" -ge "$ms" ] || bad+=("$key") ;;
    hash) [ "$reply" = "('$want', uint64 200000)" ] || bad+=("$key") ;;
    empty) [[ "$reply" == "('e3b0c442"*", uint64 0)" ]] || bad+=("$key") ;;
    compute1000000) [ "$reply" = "(uint64 37550402023,)" ] || bad+=("$key") ;;
    compute100) [ "$reply" = "(uint64 1060,)" ] || bad+=("$key") ;;
    compute10) [ "$reply" = "(uint64 17,)" ] || bad+=("$key") ;;
  esac
done
if [ $timed_out = 0 ] && [ ${#bad[@]} = 0 ]; then
  ok "8 concurrent calls on both managers all reply correctly"
else
  not_ok "8 concurrent calls on both managers all reply correctly" \
    "timed out: $timed_out; wrong: ${bad[*]}" "${replies[@]}"
fi

# Independent domains: while a long Sleep occupies the "files" thread,
# Compute on "compute" still replies. The Sleep is known to be running (the
# service logs it), and its client must still be waiting when Compute has
# replied; no wall-clock threshold is involved.
call_bg "$tmp/long-sleep.out" Sleep 2000
sleep_pid=$!
if wait_for 5 logged "files: Sleep 2000 ms started"; then
  compute=$(call Compute 2000000)
  if alive "$sleep_pid" && [ "$compute" = "(uint64 142913828922,)" ]; then
    ok "Compute replies while a Sleep on the files manager is still running"
  else
    not_ok "Compute replies while a Sleep on the files manager is still running" \
      "Compute: $compute" "Sleep pending: $(alive "$sleep_pid" && echo yes || echo no)"
  fi
else
  not_ok "Compute replies while a Sleep on the files manager is still running" \
    "the Sleep did not start within 5 s"
fi
wait_gone "$sleep_pid" 10
check_match "the long Sleep then replies normally" "(uint32 2[0-9][0-9][0-9],)" \
  "$(cat "$tmp/long-sleep.out")"

# The files domain is a pool of two threads: while a long Sleep holds one,
# a HashFile of a missing file is answered NotFound by the other, and its
# reply arrives while the Sleep's client is still waiting.
call_bg "$tmp/pool-sleep.out" Sleep 2000
sleep_pid=$!
if wait_for 5 logged "files: Sleep 2000 ms started"; then
  missing=$(call HashFile "'$tmp/missing'")
  if alive "$sleep_pid" && [[ "$missing" == *NotFound* ]]; then
    ok "HashFile answers NotFound while a Sleep holds one files thread"
  else
    not_ok "HashFile answers NotFound while a Sleep holds one files thread" \
      "HashFile: $missing" "Sleep pending: $(alive "$sleep_pid" && echo yes || echo no)"
  fi
else
  not_ok "HashFile answers NotFound while a Sleep holds one files thread" \
    "the Sleep did not start within 5 s"
fi
wait_gone "$sleep_pid" 10

# GetStats: the counts of the calls above. Argument checks happen before
# submission, so the relative path and the Compute over the limit never
# reached a manager; the missing file did (twice), and failed there.
stats=$(call GetStats)
counts ()
{
  echo "submitted $(stat "$1" submitted "$stats"), completed $(stat "$1" completed "$stats")," \
       "failed $(stat "$1" failed "$stats"), cancelled $(stat "$1" cancelled "$stats")," \
       "running $(stat "$1" running "$stats"), queued $(stat "$1" queued "$stats")"
}
check "GetStats counts the calls on files" \
  "submitted 11, completed 9, failed 2, cancelled 0, running 0, queued 0" "$(counts files)"
check "GetStats counts the calls on compute" \
  "submitted 10, completed 10, failed 0, cancelled 0, running 0, queued 0" "$(counts compute)"

# Shutdown with work in flight, through Quit(): the Sleep still gets its
# reply, calls made meanwhile are refused, the service exits 0, and the name
# is gone afterwards.
call_bg "$tmp/quit-sleep.out" Sleep 1500
sleep_pid=$!
wait_for 5 logged "files: Sleep 1500 ms started" || not_ok "the Sleep before Quit started"
check "Quit() replies at once" "()" "$(call Quit)"
check_match "a call during the drain is refused as ShuttingDown" \
  "Error: GDBus.Error:$ERR.ShuttingDown: *" "$(call Compute 10)"
wait_gone "$sleep_pid" 10
check_match "the Sleep in flight at Quit() still gets its reply" "(uint32 1[5-9][0-9][0-9],)" \
  "$(cat "$tmp/quit-sleep.out")"
check_service_exit "the service exits 0 after Quit()"
check_match "a call after the exit fails" "Error: GDBus.Error:*" "$(call Compute 10)"

# The same through SIGTERM.
start_service
call_bg "$tmp/term-sleep.out" Sleep 1500
sleep_pid=$!
wait_for 5 logged "files: Sleep 1500 ms started" || not_ok "the Sleep before SIGTERM started"
kill -TERM "$service_pid"
wait_gone "$sleep_pid" 10
check_match "the Sleep in flight at SIGTERM still gets its reply" "(uint32 1[5-9][0-9][0-9],)" \
  "$(cat "$tmp/term-sleep.out")"
check_service_exit "the service exits 0 after SIGTERM"
if name_free; then
  ok "the name is released after SIGTERM"
else
  not_ok "the name is released after SIGTERM"
fi

# A second signal cancels instead of draining: the running Sleep answers its
# cancellable at once with a Cancelled error, well before its 10 s are up
# (the 5 s wait below would fail otherwise).
start_service
call_bg "$tmp/int-sleep.out" Sleep 10000
sleep_pid=$!
wait_for 5 logged "files: Sleep 10000 ms started" || not_ok "the Sleep before SIGINT started"
kill -INT "$service_pid"
wait_for 5 logged "draining 1 in flight"
kill -INT "$service_pid"
if wait_gone "$sleep_pid" 5; then
  check_match "a second SIGINT cancels the Sleep in flight" \
    "Error: GDBus.Error:$ERR.Cancelled: Sleep of 10000 ms was cancelled after *" \
    "$(cat "$tmp/int-sleep.out")"
else
  not_ok "a second SIGINT cancels the Sleep in flight" "no reply 5 s after the second SIGINT"
fi
check_service_exit "the service exits 0 after two SIGINTs"

echo "1..$n"
if [ $failures -gt 0 ]; then
  dump_logs
  exit 1
fi
exit 0
