#!/usr/bin/env bash
# Stop the one-node Slurm cluster started by start.sh STATE_DIR.
#
#   usage: stop.sh STATE_DIR
#
# Cancels all jobs (bounded wait), then sends TERM to slurmd, slurmctld and
# munged (in that order) using the PIDs recorded in STATE_DIR/pids, and KILL
# to any that are still alive after SLURM_CI_STOP_TIMEOUT seconds (10).
# Idempotent: a missing STATE_DIR, missing pids file or already-dead daemons
# are not errors. STATE_DIR itself is left in place (logs stay readable).
set -euo pipefail

log() { printf "slurm/stop: [%s] %s\n" "$(date +%T.%N | cut -c1-12)" "$*" >&2; }

[ "$#" -eq 1 ] || { log "usage: $0 STATE_DIR"; exit 2; }
if [ ! -d "$1" ]; then
    log "$1 does not exist; nothing to stop"
    exit 0
fi
state=$(cd "$1" && pwd -P)
pids_file=$state/pids
stop_timeout=${SLURM_CI_STOP_TIMEOUT:-10}

if [ ! -s "$pids_file" ]; then
    log "nothing recorded in $pids_file; nothing to stop"
    exit 0
fi

# is_ours PID NAME: the pid is alive and still runs NAME (guards against the
# pid having been reused by an unrelated process since start.sh recorded it).
is_ours() {
    local pid=$1 name=$2 comm
    kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [ "$comm" = "$name" ]
}

declare -A pid_of=()
while read -r name pid; do
    [ -n "${name:-}" ] && [ -n "${pid:-}" ] && pid_of[$name]=$pid
done <"$pids_file"

# 1. Cancel every job while slurmctld and slurmd are still up, so job
#    processes are killed by slurmd rather than left behind.
if [ -f "$state/slurm.conf" ] && [ -n "${pid_of[slurmctld]:-}" ] \
    && is_ours "${pid_of[slurmctld]}" slurmctld && command -v scancel >/dev/null 2>&1; then
    export SLURM_CONF=$state/slurm.conf
    if [ -n "$(squeue -h -o %i 2>/dev/null | head -n1)" ]; then
        log "cancelling all jobs"
        timeout 10 scancel --full --state=PENDING 2>/dev/null || true
        timeout 10 scancel --full --state=RUNNING 2>/dev/null || true
        timeout 10 scancel --full --state=SUSPENDED 2>/dev/null || true
        deadline=$(( $(date +%s) + stop_timeout ))
        while [ -n "$(timeout 5 squeue -h -t PD,R,CG,S -o %i 2>/dev/null | head -n1)" ] \
            && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.5
        done
    fi
fi

# 2. TERM, bounded wait, KILL. slurmd and slurmctld together, then munged
#    (the slurm daemons may still authenticate RPCs while shutting down).
stop_group() {
    local name pid live=() deadline
    for name in "$@"; do
        pid=${pid_of[$name]:-}
        if [ -z "$pid" ] || ! is_ours "$pid" "$name"; then
            continue
        fi
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        live+=("$name")
    done
    [ "${#live[@]}" -gt 0 ] || return 0
    deadline=$(( $(date +%s) + stop_timeout ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        local still=()
        for name in "${live[@]}"; do
            is_ours "${pid_of[$name]}" "$name" && still+=("$name")
        done
        [ "${#still[@]}" -gt 0 ] || return 0
        live=("${still[@]}")
        sleep 0.1
    done
    for name in "${live[@]}"; do
        if is_ours "${pid_of[$name]}" "$name"; then
            log "$name (pid ${pid_of[$name]}) still alive after ${stop_timeout}s; sending KILL"
            kill -KILL "${pid_of[$name]}" 2>/dev/null || true
        fi
    done
    sleep 0.5
}
stop_group slurmd slurmctld
stop_group munged

# slurmstepd processes of jobs that survived scancel would keep job
# processes (and the spool dir) alive; they carry no recorded pid, so find
# them by their parent being gone and their spool dir being ours.
for p in /proc/[0-9]*; do
    comm=$(cat "$p/comm" 2>/dev/null || true)
    [ "$comm" = slurmstepd ] || continue
    if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$state/slurm.conf"; then
        log "killing leftover slurmstepd ${p#/proc/}"
        kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
done

rm -f "$pids_file" "$state/run/munged.pid" "$state/run/slurmctld.pid" "$state/run/slurmd.pid"
log "stopped"
