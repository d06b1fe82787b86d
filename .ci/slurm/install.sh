#!/usr/bin/env bash
# Install the Debian packages needed for a one-node Slurm test cluster
# (slurmctld, slurmd, client tools, munge). Idempotent: does nothing when the
# binaries are already on PATH. Must run as root (or via sudo).
set -euo pipefail

need=(slurmctld slurmd munged sbatch)
missing=()
for b in "${need[@]}"; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "slurm/install: already installed ($(slurmd -V 2>/dev/null || echo "slurmd -V failed"))" >&2
    exit 0
fi

echo "slurm/install: missing ${missing[*]}; installing slurm-wlm munge" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' maintainer scripts from starting the system-wide
# munge/slurmctld/slurmd services (start.sh runs its own, configured under a
# state dir; without /etc/slurm/slurm.conf the system ones would fail anyway).
# Docker-style images already ship a policy-rc.d that says "deny"; add one
# only for the duration of the install if there is none.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 0755 "$policy"
    trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi
"${SUDO[@]}" apt-get update -qq || echo "slurm/install: apt-get update failed; trying the install anyway" >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2

for b in "${need[@]}"; do
    command -v "$b" >/dev/null 2>&1 || { echo "slurm/install: $b still missing after install" >&2; exit 1; }
done
echo "slurm/install: installed ($(slurmd -V))" >&2
