#!/usr/bin/env bash
# Skyforge local SLURM: a real one-node cluster (with accounting and two fake GPUs) on this machine.
#
# Usage: bash slurm/local-cluster.sh start|stop|status
#
# start   installs the Debian packages when missing (apt-get), then starts, in order,
#         munged -> mariadbd -> slurmdbd -> (sacctmgr add cluster) -> slurmctld -> slurmd and
#         waits until `sinfo` shows the node idle. A no-op when everything is already up.
# stop    stops exactly the daemons that `start` recorded (PID + /proc/PID/comm), idempotent.
# status  prints which daemons are up and `sinfo`; exit code 0 only if all of them are up.
#
# Meant for a dev machine or a CI container: root, Debian 12 (Slurm 22.05), no systemd. It
# overwrites /etc/slurm/slurm.conf and /etc/slurm/gres.conf with symlinks into the state dir,
# because Debian's client tools (sbatch, sinfo, sacct, ...) read /etc/slurm/slurm.conf.
# Facts behind every setting: docs/local-slurm.md.
#
# Environment:
#   SKYFORGE_SLURM_DIR             state dir: config, logs, spool, database, pids
#                                  (default /var/tmp/skyforge-slurm)
#   SKYFORGE_SLURM_CLUSTER         cluster name (default skyforge)
#   SKYFORGE_SLURM_START_TIMEOUT   seconds to wait for each daemon to be ready (default 60)
set -euo pipefail

STATE_DIR="${SKYFORGE_SLURM_DIR:-/var/tmp/skyforge-slurm}"
CLUSTER_NAME="${SKYFORGE_SLURM_CLUSTER:-skyforge}"
START_TIMEOUT_S="${SKYFORGE_SLURM_START_TIMEOUT:-60}"

CONF_DIR="${STATE_DIR}/etc"
LOG_DIR="${STATE_DIR}/log"
PID_DIR="${STATE_DIR}/pids"    # PIDs recorded by this script; the daemons never touch them
RUN_DIR="${STATE_DIR}/run"     # the daemons' own pidfiles and the mariadb socket
SPOOL_DIR="${STATE_DIR}/spool"
DB_DIR="${STATE_DIR}/mysql"
GPU_DEV_DIR="${STATE_DIR}/dev"
MUNGE_DIR="${STATE_DIR}/munge"
MYSQL_SOCKET="${RUN_DIR}/mysqld.sock"
NUM_FAKE_GPUS=2

# Start order; stop walks it backwards. Each name is also the daemon's /proc/PID/comm.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
PACKAGES=(slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
REQUIRED_COMMANDS=(munged munge unmunge mariadbd mariadb-install-db mariadb-admin mariadb
    slurmdbd slurmctld slurmd sinfo scontrol sacctmgr sacct sbatch srun)

# The daemons find slurmdbd.conf and gres.conf next to the slurm.conf they are given.
export SLURM_CONF="${CONF_DIR}/slurm.conf"

log() { echo "local-cluster: $*"; }
die() {
    echo "local-cluster: ERROR: $*" >&2
    exit 1
}

now_s() { date +%s.%N; }
elapsed_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# True if process $1 exists and is not a zombie. A daemon that exited stays a zombie until
# PID 1 reaps it, which some container inits do late or never.
running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != "Z" ]]
}

# Prints the recorded PID of daemon $1 if that process is alive and really is that daemon.
live_pid() {
    local name="$1" pid_file="${PID_DIR}/$1.pid" pid comm
    [[ -s "${pid_file}" ]] || return 1
    pid="$(<"${pid_file}")"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    running "${pid}" || return 1
    comm="$(cat "/proc/${pid}/comm" 2>/dev/null)" || return 1
    [[ "${comm}" == "${name}" ]] || return 1
    echo "${pid}"
}

is_up() { live_pid "$1" >/dev/null; }

all_up() {
    local name
    for name in "${DAEMONS[@]}"; do
        is_up "${name}" || return 1
    done
}

# Polls command "$2..." until it succeeds; on timeout fails with a pointer to log file $1.
wait_for() {
    local log_file="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            die "timed out after ${START_TIMEOUT_S}s waiting for ${what}; see ${log_file}" \
                "(all logs: ${LOG_DIR})"
        fi
        sleep 0.2
    done
}

# Starts daemon $1 (argv "$2...", kept in the foreground by its own flag) in a new session so
# that a `timeout` or Ctrl-C around this script does not take it down, and records its PID.
spawn() {
    local name="$1" pid
    shift
    setsid "$@" </dev/null >>"${LOG_DIR}/${name}.out" 2>&1 &
    pid=$!
    echo "${pid}" >"${PID_DIR}/${name}.pid"
    sleep 0.1
    is_up "${name}" || die "${name} exited right after start; see ${LOG_DIR}/${name}.out" \
        "and ${LOG_DIR}/${name}.log"
}

install_packages() {
    local missing=() cmd
    for cmd in "${REQUIRED_COMMANDS[@]}"; do
        command -v "${cmd}" >/dev/null 2>&1 || missing+=("${cmd}")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "missing commands (${missing[*]}) and no apt-get to install ${PACKAGES[*]}"
    log "installing ${PACKAGES[*]} (missing: ${missing[*]})"
    # The image's policy-rc.d keeps postinst scripts from starting daemons; this script does.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${PACKAGES[@]}" >/dev/null
}

write_configs() {
    local host node_line real_mem_mb node_mem_mb i gpu_files=""
    host="$(hostname -s)"
    mkdir -p "${CONF_DIR}" "${LOG_DIR}" "${PID_DIR}" "${RUN_DIR}" "${GPU_DEV_DIR}" \
        "${SPOOL_DIR}/slurmctld" "${SPOOL_DIR}/slurmd" /etc/slurm

    # `slurmd -C` knows the real topology; RealMemory a bit under the real value, or slurmd
    # reports less than configured (rounding, kernel reservations) and the node goes INVALID.
    node_line="$(slurmd -C | head -n 1)"
    real_mem_mb="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"${node_line}")"
    [[ -n "${real_mem_mb}" ]] || die "cannot read RealMemory from 'slurmd -C': ${node_line}"
    node_mem_mb=$((real_mem_mb * 95 / 100))
    node_line="${node_line/RealMemory=${real_mem_mb}/RealMemory=${node_mem_mb}}"

    # Fake GPUs: gres.conf needs CHARACTER devices (regular files log errors, no files at all
    # make the node INVALID). c 1 3 is the same device as /dev/null.
    for ((i = 0; i < NUM_FAKE_GPUS; i++)); do
        [[ -c "${GPU_DEV_DIR}/nvidia${i}" ]] || mknod "${GPU_DEV_DIR}/nvidia${i}" c 1 3
    done
    gpu_files="${GPU_DEV_DIR}/nvidia[0-$((NUM_FAKE_GPUS - 1))]"

    cat >"${CONF_DIR}/slurm.conf" <<EOF
# Written by slurm/local-cluster.sh; edit the script, not this file.
ClusterName=${CLUSTER_NAME}
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# No MTA here; without a valid MailProg slurmctld logs an error at every start.
MailProg=/bin/true
StateSaveLocation=${SPOOL_DIR}/slurmctld
SlurmdSpoolDir=${SPOOL_DIR}/slurmd
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
# No cgroups in a container: track processes by parent PID, bind tasks with affinity.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to squeue for 5 minutes.
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
GresTypes=gpu
${node_line} NodeAddr=127.0.0.1 Gres=gpu:${NUM_FAKE_GPUS} State=UNKNOWN
# DefMemPerCPU: without a default each job takes the whole node's memory and jobs serialise.
PartitionName=cpu Nodes=${host} Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=1000
EOF

    cat >"${CONF_DIR}/gres.conf" <<EOF
# Written by slurm/local-cluster.sh. Fake GPUs for scheduling tests; nothing to detect.
AutoDetect=off
NodeName=${host} Name=gpu File=${gpu_files}
EOF

    cat >"${CONF_DIR}/slurmdbd.conf" <<EOF
# Written by slurm/local-cluster.sh. MariaDB listens on a unix socket only (MYSQL_UNIX_PORT).
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
LogFile=${LOG_DIR}/slurmdbd.log
PidFile=${RUN_DIR}/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    # slurmdbd refuses a config file that others can read.
    chmod 600 "${CONF_DIR}/slurmdbd.conf"

    # Debian's client tools read /etc/slurm/slurm.conf (and gres.conf beside it).
    ln -sfn "${CONF_DIR}/slurm.conf" /etc/slurm/slurm.conf
    ln -sfn "${CONF_DIR}/gres.conf" /etc/slurm/gres.conf
}

munge_works() { munge -n | unmunge; }

start_munged() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    # munged runs as its own user and insists that its directories belong to it.
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 "${MUNGE_DIR}"
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    # In the foreground munged logs to stderr, which spawn sends to munged.out.
    spawn munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --pid-file="${MUNGE_DIR}/munged.pid" \
        --seed-file="${MUNGE_DIR}/munged.seed"
    wait_for "${LOG_DIR}/munged.out" "munged (munge -n | unmunge)" munge_works
}

start_mariadbd() {
    if [[ ! -d "${DB_DIR}/mysql" ]]; then
        log "initialising MariaDB datadir ${DB_DIR}"
        mariadb-install-db --no-defaults --user=root --datadir="${DB_DIR}" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"${LOG_DIR}/mariadb-install-db.log" 2>&1 ||
            die "mariadb-install-db failed; see ${LOG_DIR}/mariadb-install-db.log"
    fi
    rm -f "${MYSQL_SOCKET}"
    # The two innodb values are half of Slurm's recommendation, the least that keeps slurmdbd
    # from logging "Database settings not recommended values".
    spawn mariadbd mariadbd --no-defaults --user=root --datadir="${DB_DIR}" \
        --socket="${MYSQL_SOCKET}" --skip-networking --pid-file="${RUN_DIR}/mariadbd.pid" \
        --log-error="${LOG_DIR}/mariadbd.log" --innodb-buffer-pool-size=512M \
        --innodb-lock-wait-timeout=900
    wait_for "${LOG_DIR}/mariadbd.log" "mariadbd" \
        mariadb-admin --no-defaults --socket="${MYSQL_SOCKET}" ping
}

# True once the association root/root exists in this cluster.
root_assoc_exists() {
    sacctmgr -n -P show assoc where cluster="${CLUSTER_NAME}" account=root user=root \
        format=user | grep -qx root
}

start_slurmdbd() {
    # slurmdbd connects to MariaDB's unix socket: libmariadb reads the path from MYSQL_UNIX_PORT.
    MYSQL_UNIX_PORT="${MYSQL_SOCKET}" spawn slurmdbd slurmdbd -D
    wait_for "${LOG_DIR}/slurmdbd.log" "slurmdbd (sacctmgr show cluster)" \
        sacctmgr -n show cluster
    if ! sacctmgr -n -P show cluster format=cluster | grep -qx "${CLUSTER_NAME}"; then
        sacctmgr -i add cluster "${CLUSTER_NAME}" >/dev/null
    fi
    # Adding a cluster normally creates account root and user root's association; make sure,
    # because the Snakemake profile submits with --account=root.
    if ! root_assoc_exists; then
        sacctmgr -i add account root cluster="${CLUSTER_NAME}" >/dev/null 2>&1 || true
        sacctmgr -i add user root account=root cluster="${CLUSTER_NAME}" >/dev/null 2>&1 || true
        root_assoc_exists || die "cannot create association account=root user=root;" \
            "see ${LOG_DIR}/slurmdbd.log"
    fi
}

start_slurmctld() {
    spawn slurmctld slurmctld -D -f "${SLURM_CONF}"
    wait_for "${LOG_DIR}/slurmctld.log" "slurmctld (scontrol ping)" \
        bash -c 'scontrol ping | grep -q "is UP"'
}

# Ready when the local slurmd answers and the controller lists the node as plain `idle` (not
# `idle*`, not responding; not `inval`, a config that does not match the hardware).
node_idle() { scontrol show slurmd && sinfo -h -N -o '%t' | grep -qx 'idle'; }

start_slurmd() {
    spawn slurmd slurmd -D -f "${SLURM_CONF}"
    wait_for "${LOG_DIR}/slurmd.log" "the node to be idle in sinfo (slurmd; also slurmctld.log)" \
        node_idle
}

# Sends SIGTERM to daemon $1 if it is ours and alive, waits, then SIGKILL as a last resort.
stop_daemon() {
    local name="$1" pid i
    if pid="$(live_pid "${name}")"; then
        kill -TERM "${pid}" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            running "${pid}" || break
            sleep 0.1
        done
        if running "${pid}"; then
            log "${name} (pid ${pid}) ignored SIGTERM for 30 s; sending SIGKILL"
            kill -KILL "${pid}" 2>/dev/null || true
            while running "${pid}"; do sleep 0.1; done
        fi
        log "stopped ${name} (pid ${pid})"
    fi
    rm -f "${PID_DIR}/${name}.pid"
}

cmd_stop() {
    local i
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        stop_daemon "${DAEMONS[i]}"
    done
    log "stopped (state kept in ${STATE_DIR})"
}

cmd_start() {
    local t0 name pid
    t0="$(now_s)"
    [[ "$(id -u)" -eq 0 ]] || die "must run as root (starts daemons and writes /etc/slurm)"
    if all_up; then
        log "already running (state dir ${STATE_DIR}); nothing to do (took $(elapsed_s "${t0}") s)"
        return 0
    fi
    for name in "${DAEMONS[@]}"; do
        if is_up "${name}"; then
            log "partially running; stopping the remaining daemons for a clean start"
            cmd_stop
            break
        fi
    done
    # A daemon we did not start (a system slurmd, another state dir) would hold the same ports
    # or munge socket; stopping it is not ours to decide.
    for name in munged slurmdbd slurmctld slurmd; do
        for pid in $(pgrep -x "${name}" || true); do
            if running "${pid}"; then
                die "a ${name} not started by this script is running (pid ${pid}); stop it first"
            fi
        done
    done
    install_packages
    # A half-started cluster only confuses the next start: take down what this run started.
    trap 'log "start failed; stopping the daemons it started (logs kept in ${LOG_DIR})" >&2
          cmd_stop >&2' EXIT
    write_configs
    start_munged
    start_mariadbd
    start_slurmdbd
    start_slurmctld
    start_slurmd
    trap - EXIT
    log "up: cluster ${CLUSTER_NAME}, partition cpu, node $(hostname -s) with" \
        "${NUM_FAKE_GPUS} fake GPUs; state in ${STATE_DIR} (took $(elapsed_s "${t0}") s)"
}

cmd_status() {
    local name pid rc=0
    for name in "${DAEMONS[@]}"; do
        if pid="$(live_pid "${name}")"; then
            printf '%-10s up    (pid %s)\n' "${name}" "${pid}"
        else
            printf '%-10s down\n' "${name}"
            rc=1
        fi
    done
    if is_up slurmctld; then
        sinfo || rc=1
    fi
    return "${rc}"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
