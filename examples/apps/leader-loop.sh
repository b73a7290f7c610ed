#!/bin/sh
# An app that asks its lease-elector sidecar before each unit of leader work, in plain sh + curl.
#   leader-loop.sh COMMAND [ARGS...]   runs COMMAND as the leader's unit of work, again and again
# It keeps the app's side of the contract (README, "What the app must do"):
# - it polls /leader every POLL_INTERVAL_MS (default 200), more often than the release delay;
# - it starts COMMAND only if WORK_MS (its longest run, default 1000) fits before the leadership's
#   end, measured on the monotonic clock from when the poll was sent, and kills it at that end;
# - no answer from the sidecar means "not the leader".
set -u
url=${LEASE_ELECTOR_URL:-http://localhost:4040}
poll_ms=${POLL_INTERVAL_MS:-200}
work_ms=${WORK_MS:-1000}
[ $# -gt 0 ] || { echo "usage: leader-loop.sh COMMAND [ARGS...]" >&2; exit 2; }

# Milliseconds on the boot-time clock (/proc/uptime): a wall-clock step cannot stretch a deadline.
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
epoch_ms() { date +%s%3N; }
sleep_ms() { sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"; }

while :; do
  sent=$(uptime_ms)
  answer=$(curl -sf --max-time 1 "$url/leader" 2>/dev/null) || answer=""
  valid_ms=$(printf '%s' "$answer" | sed -n 's/.*"isLeader": *true.*"validForMs": *\([0-9]*\).*/\1/p')
  if [ -n "$valid_ms" ]; then
    left_ms=$((sent + valid_ms - $(uptime_ms)))
    if [ "$left_ms" -ge "$work_ms" ]; then
      echo "work-start $(epoch_ms)"
      # The leadership's end bounds the command, whatever it does.
      timeout "$(awk -v ms="$left_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" "$@"
      status=$?
      echo "work-end $(epoch_ms) status $status"
      continue
    fi
  fi
  sleep_ms "$poll_ms"
done
