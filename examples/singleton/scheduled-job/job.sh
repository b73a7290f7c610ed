#!/bin/sh
# The job itself (replace it): here it appends one line to $JOB_OUTPUT (default /dev/stdout).
echo "slot $1 ran-by ${POD_NAME:-$(hostname)} at $(date +%s%3N)" >>"${JOB_OUTPUT:-/dev/stdout}"
