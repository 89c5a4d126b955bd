#!/usr/bin/env bash
# A one-machine SLURM cluster for trying the job-array scripts and for the end-to-end
# test: `local-cluster.sh start` writes a slurm.conf for this host and starts munged,
# slurmctld and slurmd without systemd; `local-cluster.sh stop` stops them. Needs root
# and Debian's slurmctld, slurmd, slurm-client and munge packages. It replaces
# /etc/slurm/slurm.conf: do not run it on a machine that belongs to a real cluster.
set -euo pipefail

conf_dir=/etc/slurm
state=/var/spool/slurmctld
spool=/var/spool/slurmd
run=/run/slurm

start() {
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    mkdir -p "$conf_dir" "$state" "$spool" "$run" /var/log/slurm
    cat >"$conf_dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MaxArraySize=10001
NodeName=$host CPUs=$cpus RealMemory=2048 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    mkdir -p /run/munge
    chown munge:munge /run/munge
    if [ ! -f /etc/munge/munge.key ]; then
        echo "no /etc/munge/munge.key: is the munge package installed?" >&2
        exit 1
    fi
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
    for _ in $(seq 100); do
        case "$(sinfo -h -o %t 2>/dev/null || true)" in
        idle* | mix* | alloc*)
            echo "SLURM is up on $host ($cpus CPUs)"
            return 0
            ;;
        esac
        sleep 0.2
    done
    echo "SLURM did not become idle; see /var/log/slurm/" >&2
    sinfo >&2 || true
    exit 1
}

stop_one() {
    local name=$1 pidfile=$2
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    else
        pkill -x "$name" 2>/dev/null || true
    fi
    for _ in $(seq 100); do
        pgrep -x "$name" >/dev/null || return 0
        sleep 0.1
    done
    pkill -9 -x "$name" 2>/dev/null || true
}

stop() {
    stop_one slurmd "$run/slurmd.pid"
    stop_one slurmctld "$run/slurmctld.pid"
    stop_one munged /run/munge/munged.pid
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
