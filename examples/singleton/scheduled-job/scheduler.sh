#!/bin/sh
# A scheduled job that runs only on the leader: every INTERVAL_SECONDS (default 60), at the same
# wall-clock slots on every replica, the replica whose sidecar leads runs JOB (default ./job.sh).
# The job must fit in JOB_MAX_SECONDS (default 30): it is started only when that fits in the
# leadership left, and killed at the leadership's end. A handover inside a slot can run that slot
# twice (once on each side) or not at all: a job that must run exactly once records its slot in
# the system it writes to.
set -u
url=${LEASE_ELECTOR_URL:-http://localhost:4040}
interval=${INTERVAL_SECONDS:-60}
max_ms=$(( ${JOB_MAX_SECONDS:-30} * 1000 ))
job=${JOB:-./job.sh}
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

last_slot=""
while :; do
  slot=$(( $(date +%s) / interval ))
  if [ "$slot" != "$last_slot" ]; then
    sent=$(uptime_ms)
    answer=$(curl -sf --max-time 1 "$url/leader" 2>/dev/null) || answer=""
    valid_ms=$(printf '%s' "$answer" | sed -n 's/.*"isLeader": *true.*"validForMs": *\([0-9]*\).*/\1/p')
    if [ -n "$valid_ms" ]; then
      left_ms=$((sent + valid_ms - $(uptime_ms)))
      if [ "$left_ms" -ge "$max_ms" ]; then
        last_slot=$slot
        timeout "$(awk -v ms="$left_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" "$job" "$slot" ||
          echo "scheduler: job for slot $slot failed or hit the leadership's end" >&2
      fi
      # Too little leadership left: ask again (the leader renews every retry period).
    else
      last_slot=$slot   # a follower skips the slot; the leader runs it
    fi
  fi
  sleep 0.2
done
