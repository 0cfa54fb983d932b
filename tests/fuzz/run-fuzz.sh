#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the libFuzzer harness for meson test without writing to the corpus.
#   run-fuzz.sh corpus FUZZER CORPUS_DIR ARTIFACT_PREFIX
#   run-fuzz.sh smoke  FUZZER CORPUS_DIR ARTIFACT_PREFIX SECONDS
set -eu
mode=$1 fuzzer=$2 corpus=$3 artifacts=$4

case "$mode" in
  corpus)
    # Files given one by one are each run once, and nothing is written.
    exec "$fuzzer" -timeout=30 -rss_limit_mb=4096 -artifact_prefix="$artifacts" "$corpus"/*
    ;;
  smoke)
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    # The first directory receives new inputs; the committed one is only read.
    "$fuzzer" -max_total_time="$5" -timeout=30 -max_len=256 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "$scratch" "$corpus"
    ;;
  *)
    echo "usage: $0 corpus|smoke FUZZER CORPUS_DIR ARTIFACT_PREFIX [SECONDS]" >&2
    exit 2
    ;;
esac
