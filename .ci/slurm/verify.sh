#!/usr/bin/env bash
# Smoke-test a cluster started by start.sh: plain job, array job, dependency
# chain (afterok satisfied and never satisfied), requeue of a finished and
# of a cancelled array task, resubmission of one array index, and a job
# submitted by an unprivileged user that must run under that user's uid.
#
#   usage: verify.sh STATE_DIR [USER]
#
# Must run as root. USER (default slurmtester) is created with `useradd -m`
# if it does not exist: Slurm resolves the job owner with getpwuid() and a
# uid without a passwd entry makes every launch fail (the job is requeued
# in a loop). Every wait is bounded; exits non-zero on the first failure.
# Job scripts below are single-quoted on purpose: they expand in the job.
# shellcheck disable=SC2016
set -euo pipefail

state=$(cd "${1:?usage: $0 STATE_DIR [USER]}" && pwd -P)
user=${2:-slurmtester}
export SLURM_CONF=$state/slurm.conf
[ -f "$SLURM_CONF" ] || { echo "no $SLURM_CONF; run start.sh first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

say() { printf '\n### %s\n' "$*"; }
die() { printf 'verify: FAIL: %s\n' "$*" >&2; exit 1; }

# wait_done TIMEOUT JOBID...: until none of the jobs is pending/running.
wait_done() {
    local limit=$1 deadline
    shift
    deadline=$(( $(date +%s) + limit ))
    while [ -n "$(squeue -h -t PD,R,CG,S,CF -j "$(IFS=,; echo "$*")" -o %i 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { squeue >&2; die "jobs $* not done after ${limit}s"; }
        sleep 0.25
    done
}
# wait_state TIMEOUT JOB STATE: until `squeue` shows JOB in STATE (e.g. R).
wait_state() {
    local deadline=$(( $(date +%s) + $1 ))
    until [ -n "$(squeue -h -t "$3" -j "$2" -o %i 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { squeue >&2; die "job $2 not in state $3 after $1s"; }
        sleep 0.25
    done
}
job_state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1; }
expect() { # expect FILE CONTENT
    local got
    got=$(cat "$1" 2>/dev/null || echo "<missing $1>")
    [ "$got" = "$2" ] || die "$1: expected '$2', got '$got'"
    echo "ok: $1 = $(printf '%s' "$2" | tr '\n' ' ')"
}

work=$(mktemp -d /tmp/lectern-slurm-verify.XXXXXX)
chmod 0755 "$work"
cd "$work"
t0=$(date +%s)
sinfo

say "1. sbatch --wait"
timeout 60 sbatch --wait -o hi.out --wrap 'echo hi'
expect hi.out hi

say "2. array job + 3. afterok dependency"
arr=$(sbatch --parsable --array=1-3 -o 'arr-%a.out' --wrap 'echo $SLURM_ARRAY_TASK_ID; sleep 1')
dep=$(sbatch --parsable --dependency="afterok:$arr" --kill-on-invalid-dep=yes -o dep.out \
    --wrap 'date +%s.%N')
echo "array=$arr dependent=$dep"
[ "$(squeue -h -j "$dep" -o %r)" = Dependency ] || die "dependent job not waiting on Dependency"
wait_done 60 "$arr" "$dep"
for k in 1 2 3; do expect "arr-$k.out" "$k"; done
[ "$(job_state "$dep")" = COMPLETED ] || die "dependent job state $(job_state "$dep")"
for k in 1 2 3; do
    [ "$(stat -c %Y dep.out)" -ge "$(stat -c %Y "arr-$k.out")" ] || die "dependent ran before task $k"
done
echo "ok: dependent job $dep ran after array $arr"

say "3b. afterok on a failing job with --kill-on-invalid-dep=yes"
bad=$(sbatch --parsable -o /dev/null --wrap 'exit 3')
never=$(sbatch --parsable --dependency="afterok:$bad" --kill-on-invalid-dep=yes -o never.out --wrap 'echo should-not-run')
wait_done 60 "$bad" "$never"
echo "failing=$bad:$(job_state "$bad") dependent=$never:$(job_state "$never")"
[ "$(job_state "$never")" = CANCELLED ] || die "dependent of failed job is $(job_state "$never"), expected CANCELLED"
[ ! -e never.out ] || die "dependent of failed job ran"

say "4. scontrol requeue of a finished array task"
rq=$(sbatch --parsable --array=1-2 -o 'rq-%a.out' --open-mode=append \
    --wrap 'echo "task=$SLURM_ARRAY_TASK_ID restarts=${SLURM_RESTART_COUNT:-0}"')
wait_done 60 "$rq"
scontrol requeue "${rq}_2"
scontrol show job "${rq}_2" | grep -E 'JobState|EligibleTime' || true
t1=$(date +%s)
wait_done 90 "$rq"
echo "requeued task finished $(( $(date +%s) - t1 ))s after requeue (eligible after cred_expire+1 s)"
expect rq-1.out "task=1 restarts=0"
expect rq-2.out "task=2 restarts=0
task=2 restarts=1"

say "5. scancel one running array task, then requeue it / resubmit the index"
ca=$(sbatch --parsable --array=1-2 -o 'ca-%a.out' --open-mode=append \
    --wrap 'echo "start $SLURM_ARRAY_TASK_ID r=${SLURM_RESTART_COUNT:-0}"; sleep ${SLEEP:-3}; echo "end $SLURM_ARRAY_TASK_ID"' \
    --export=ALL,SLEEP=30)
# squeue says R as soon as slurmctld allocates; wait for the script itself.
deadline=$(( $(date +%s) + 60 ))
until grep -q "start 1 r=0" ca-1.out 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "task ${ca}_1 never started"
    sleep 0.25
done
scancel "${ca}_1"
wait_done 30 "${ca}_1"
echo "after scancel: ${ca}_1 is $(job_state "${ca}_1")"
scontrol requeue "${ca}_1"
# Do NOT shortcut the eligibility delay (scontrol update StartTime=now): slurmd
# revoked the cancelled task's credential and would refuse the relaunch
# ("Job credential revoked") until cred_expire has passed.
t1=$(date +%s)
deadline=$(( t1 + 90 ))
until grep -q "start 1 r=1" ca-1.out 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "requeued task ${ca}_1 did not start again: $(cat ca-1.out)"
    sleep 0.25
done
echo "requeued task restarted $(( $(date +%s) - t1 ))s after requeue"
scancel "$ca"
wait_done 30 "$ca"
grep -q "start 1 r=1" ca-1.out || die "cancelled task 1 did not run again after requeue: $(cat ca-1.out)"
echo "ok: cancelled task ${ca}_1 was requeued and ran again: $(tr '\n' '|' <ca-1.out)"
re=$(sbatch --parsable --array=2 -o 're-%A_%a.out' --wrap 'echo "index $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID"')
wait_done 60 "$re"
expect "re-${re}_2.out" "index 2 of $re"

say "6. unprivileged user $user"
if ! id "$user" >/dev/null 2>&1; then
    useradd -m "$user"
fi
uid=$(id -u "$user")
uwork=$work/user
mkdir "$uwork"
chown "$user:" "$uwork"
# Submit from a directory the user cannot even enter, as `su` or a CI step
# might: --chdir and -o must then point somewhere the user can write.
cd /
timeout 60 setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups \
    env HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user" \
    sbatch --wait --chdir="$uwork" -o 'user-%j.out' --wrap 'id -u; pwd; echo "HOME=$HOME"'
cd "$work"
out=$(ls "$uwork"/user-*.out)
cat "$out"
[ "$(head -n1 "$out")" = "$uid" ] || die "job did not run as uid $uid"
[ "$(stat -c %u "$out")" = "$uid" ] || die "output not owned by $uid"
echo "ok: job ran as uid $uid, output owned by $(stat -c %U "$out")"

say "all checks passed in $(( $(date +%s) - t0 ))s (work dir $work)"
