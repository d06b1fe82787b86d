#!/usr/bin/env bash
# Grades a class on a Slurm cluster: a job array grades the shards (one task each),
# then a merge job, chained to the array, writes the class's gradebook and exports.
#
#   bash grade-slurm.sh             # submit the whole class
#   ONLY=3 bash grade-slurm.sh      # re-submit shard 3 (same N), then merge again
#
# Set the variables below (or give them in the environment). Paths must be absolute and
# the same on every node (a shared file system); the script runs from any folder and
# writes nothing into it.
set -euo pipefail

LECTERN=${LECTERN:-$(command -v lectern || true)}  # the lectern binary every node runs
COURSE=${COURSE:-/shared/courses/ai012}             # the course folder
SUBMISSIONS=${SUBMISSIONS:-/shared/submissions}     # the hand-ins (folder or zip)
OUT=${OUT:-/shared/grades}                          # the gradebook and exports go here
SHARDS=${SHARDS:-8}                # N, the number of shards: written here once
CPUS=${CPUS:-4}                    # CPUs per task: at most a node's (sinfo -o '%P %c %m')
MEMORY=${MEMORY:-4G}               # memory per task
TIME=${TIME:-01:00:00}             # time limit per task
PARTITION=${PARTITION:-}           # empty: the cluster's default partition
LOGS=${LOGS:-$OUT/logs}            # slurm-*.out files go here, not into the current folder
SECRET_FILE=${SECRET_FILE:-}       # a file only you can read (chmod 600) with the --secret
ONLY=${ONLY:-}                     # re-submit only this shard (1..N)

fail() { echo "grade-slurm.sh: $*" >&2; exit 1; }
if [ -z "$LECTERN" ] || [ ! -x "$LECTERN" ]; then fail "no lectern binary: set LECTERN=/path/to/lectern"; fi
for path in "$LECTERN" "$COURSE" "$SUBMISSIONS" "$OUT" "$LOGS"; do
  case $path in /*) ;; *) fail "$path is not an absolute path (every node must find it)";; esac
done
[ -d "$COURSE" ] || fail "no course folder at $COURSE"
[ -e "$SUBMISSIONS" ] || fail "no hand-ins at $SUBMISSIONS"
[[ $SHARDS =~ ^[1-9][0-9]*$ ]] || fail "SHARDS=$SHARDS is not a positive number"
if [ -n "$ONLY" ]; then
  if ! [[ $ONLY =~ ^[1-9][0-9]*$ ]] || [ "$ONLY" -gt "$SHARDS" ]; then fail "ONLY=$ONLY is not a shard of 1..$SHARDS"; fi
fi
if [ -n "$SECRET_FILE" ]; then
  [ -r "$SECRET_FILE" ] || fail "cannot read SECRET_FILE=$SECRET_FILE"
  case $SECRET_FILE in /*) ;; *) fail "SECRET_FILE must be an absolute path";; esac
fi
mkdir -p "$OUT/shards" "$LOGS"

# The shards of this N each have their own folder, and the merge names them all: a
# folder left by a run with another N is never mixed in.
shard_dir() { echo "$OUT/shards/$1-of-$SHARDS"; }
partition=()
[ -n "$PARTITION" ] && partition=(--partition="$PARTITION")
q() { printf '%q' "$1"; }

# The task script: the variables above are written into it now, at submission.
array=$(sbatch --parsable "${partition[@]}" \
  --job-name=lectern-grade --array="${ONLY:-1-$SHARDS}" \
  --cpus-per-task="$CPUS" --mem="$MEMORY" --time="$TIME" \
  --output="$LOGS/%x-%A_%a.out" --chdir="$OUT" <<TASK
#!/usr/bin/env bash
set -euo pipefail
k=\$SLURM_ARRAY_TASK_ID
# Python environments and run caches on the node's own disk.
export LECTERN_CACHE_DIR="\${TMPDIR:-/tmp}/lectern-cache-\$(id -u)"
secret_file=$(q "$SECRET_FILE")
if [ -n "\$secret_file" ]; then LECTERN_SECRET=\$(cat "\$secret_file"); export LECTERN_SECRET; fi
exec $(q "$LECTERN") grade $(q "$COURSE") $(q "$SUBMISSIONS") \\
  --out "$(q "$OUT/shards")/\$k-of-$SHARDS" --shard "\$k/$SHARDS" --jobs "\$SLURM_CPUS_PER_TASK"
TASK
)
array=${array%%;*}

folders=()
for k in $(seq 1 "$SHARDS"); do folders+=("$(q "$(shard_dir "$k")")"); done
# The merge runs only when every task of this submission succeeded; if one fails, the
# merge is cancelled instead of waiting for good. Fix the cause, then ONLY=K.
merge=$(sbatch --parsable "${partition[@]}" \
  --job-name=lectern-merge --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --cpus-per-task=1 --mem="$MEMORY" --time="$TIME" \
  --output="$LOGS/%x-%j.out" --chdir="$OUT" <<MERGE
#!/usr/bin/env bash
set -euo pipefail
exec $(q "$LECTERN") grade merge --out $(q "$OUT") ${folders[*]}
MERGE
)
merge=${merge%%;*}
echo "submitted shards ${ONLY:-1-$SHARDS} of $SHARDS as job $array and the merge as job $merge; logs in $LOGS"
echo "array=$array merge=$merge"
