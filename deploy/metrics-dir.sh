#!/bin/sh
# Prepare a process kind's metrics directory (PROMETHEUS_MULTIPROC_DIR) as it starts:
# create it, and remove the files of processes that are gone. Files of live processes of
# the same kind (a second worker started beside the first) are kept: removing them would
# make those processes count into files nobody reads.
dir=${1:?usage: metrics-dir.sh DIRECTORY}
mkdir -p "$dir"
for f in "$dir"/*.db; do
  [ -e "$f" ] || continue
  pid=${f##*_}
  pid=${pid%.db}
  case $pid in *[!0-9]*|'') continue ;; esac
  kill -0 "$pid" 2>/dev/null || rm -f "$f"
done
