#!/usr/bin/env bash
# Submits a sweep to SLURM: a job array of SHARDS tasks (sweep.sbatch, one shard each),
# then the report (report.sbatch) once all of them succeeded. Prints the two job ids.
#
#   SHARDS=8 VANISHING=$PWD/target/release/vanishing deploy/slurm/submit.sh [sbatch options]
#
# VANISHING, EXPERIMENTS, DATA and REPORTS (see the .sbatch files) reach the jobs through
# sbatch's default --export=ALL; DATA must be on a filesystem every node shares. Extra
# arguments go to both sbatch calls (e.g. --partition=short).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
shards=${SHARDS:-4}
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
    echo "SHARDS must be a whole number of at least 1, not \"$shards\"" >&2
    exit 2
fi

array=$(sbatch --parsable --array="0-$((shards - 1))" "$@" "$here/sweep.sbatch")
array=${array%%;*}
report=$(sbatch --parsable --dependency="afterok:$array" "$@" "$here/report.sbatch")
report=${report%%;*}
echo "$array $report"
