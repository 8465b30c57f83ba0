#!/usr/bin/env bash
# Skyforge local SLURM: a real N-node cluster (accounting, two fake GPUs per node) on this machine.
#
# Usage: bash slurm/local-cluster.sh start [--nodes N] | stop | status
#                                    | fail-node NODE [--no-wait] | start-node NODE
#
# start       installs the Debian packages when missing (apt-get), makes a private bridge and
#             one network + UTS namespace per node (node1..nodeN, default N=1), then starts
#             munged -> mariadbd -> slurmdbd -> (sacctmgr add cluster) -> slurmctld -> one
#             slurmd per node, and waits until `sinfo` shows every node idle (or busy with a
#             job recovered from the saved state). A no-op when the same cluster is already up;
#             a cluster with another node count is stopped first.
# stop        stops the daemons that `start` recorded (PID + /proc/PID/comm), kills what is
#             left in the node namespaces, removes the veths, namespaces, bridge and /etc/hosts
#             lines that `start` recorded. Idempotent.
# status      which daemons are up (one slurmd line per node) and `sinfo`; exit code 0 only if
#             all of them are up.
# fail-node   kills every process in NODE's network namespace (slurmd, slurmstepd, job tasks)
#             and waits until slurmctld itself declares NODE down (SlurmdTimeout), printing how
#             long that took; --no-wait returns right after the kill.
# start-node  restarts NODE's slurmd (after slurmctld has seen it down) and waits until the
#             node is back in service.
#
# Meant for a dev machine or a CI container: root, Debian 12 (Slurm 22.05), no systemd. It
# overwrites /etc/slurm/slurm.conf and /etc/slurm/gres.conf with symlinks into the state dir,
# because Debian's client tools (sbatch, sinfo, sacct, ...) read /etc/slurm/slurm.conf, and adds
# the node names to /etc/hosts between marker lines (removed by stop).
# Design and the facts behind every setting: docs/local-slurm.md.
#
# Environment:
#   SKYFORGE_SLURM_DIR             state dir: config, logs, spool, database, pids
#                                  (default /var/tmp/skyforge-slurm)
#   SKYFORGE_SLURM_CLUSTER         cluster name (default skyforge)
#   SKYFORGE_SLURM_NET             first three octets of the private /24 (default 10.213.0):
#                                  the bridge is .1, nodeI is .(10+I)
#   SKYFORGE_SLURM_START_TIMEOUT   seconds to wait for each daemon to be ready (default 60)
#   SKYFORGE_SLURM_FAIL_TIMEOUT    seconds fail-node / start-node wait for slurmctld (default 90)
set -euo pipefail

STATE_DIR="${SKYFORGE_SLURM_DIR:-/var/tmp/skyforge-slurm}"
CLUSTER_NAME="${SKYFORGE_SLURM_CLUSTER:-skyforge}"
NET_PREFIX="${SKYFORGE_SLURM_NET:-10.213.0}"
START_TIMEOUT_S="${SKYFORGE_SLURM_START_TIMEOUT:-60}"
FAIL_TIMEOUT_S="${SKYFORGE_SLURM_FAIL_TIMEOUT:-90}"

CONF_DIR="${STATE_DIR}/etc"
LOG_DIR="${STATE_DIR}/log"
PID_DIR="${STATE_DIR}/pids"    # PIDs recorded by this script; the daemons never touch them
RUN_DIR="${STATE_DIR}/run"     # the daemons' own pidfiles and the mariadb socket
SPOOL_DIR="${STATE_DIR}/spool"
DB_DIR="${STATE_DIR}/mysql"
GPU_DEV_DIR="${STATE_DIR}/dev"
MUNGE_DIR="${STATE_DIR}/munge" # munged's own key, socket, pid and seed (not the system's)
MUNGE_KEY="${MUNGE_DIR}/munge.key"
MUNGE_SOCKET="${MUNGE_DIR}/munge.socket"
MYSQL_SOCKET="${RUN_DIR}/mysqld.sock"
NODES_FILE="${STATE_DIR}/nodes" # the node names of the running cluster, one a line
MADE_FILE="${STATE_DIR}/made"   # what start created (bridge, netns, veth, hosts), in order
NODE_HOSTS_FILE="${CONF_DIR}/hosts" # bind-mounted over /etc/hosts inside every node
NUM_FAKE_GPUS=2
MAX_NODES=64

BRIDGE="skyforge-br"
BRIDGE_IP="${NET_PREFIX}.1"
HOSTS_BEGIN="# BEGIN skyforge-slurm nodes (slurm/local-cluster.sh start; stop removes them)"
HOSTS_END="# END skyforge-slurm nodes"

# Start order; stop walks it backwards. The slurmds (one per node, named slurmd-NODE) come last.
# A name's part before the first '-' is the daemon's /proc/PID/comm.
BASE_DAEMONS=(munged mariadbd slurmdbd slurmctld)
PACKAGES=(slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server iproute2
    util-linux)
REQUIRED_COMMANDS=(munged munge unmunge mungekey mariadbd mariadb-install-db mariadb-admin
    mariadb slurmdbd slurmctld slurmd sinfo scontrol sacctmgr sacct sbatch srun ip nsenter
    unshare setpriv)

# The daemons find slurmdbd.conf and gres.conf next to the slurm.conf they are given.
export SLURM_CONF="${CONF_DIR}/slurm.conf"

log() { echo "local-cluster: $*"; }
die() {
    echo "local-cluster: ERROR: $*" >&2
    exit 1
}

now_s() { date +%s.%N; }
elapsed_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

node_name() { echo "node$1"; }
node_ip() { echo "${NET_PREFIX}.$((10 + ${1#node}))"; }
node_veth() { echo "skyf-$1"; } # host end; the node's end is renamed eth0 inside the node

# The node names of the running (or last started) cluster.
recorded_nodes() { [[ -s "${NODES_FILE}" ]] && cat "${NODES_FILE}"; return 0; }

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
    [[ "${comm}" == "${name%%-*}" ]] || return 1
    echo "${pid}"
}

is_up() { live_pid "$1" >/dev/null; }

# Every daemon of the recorded cluster, in start order.
all_daemons() {
    local node
    printf '%s\n' "${BASE_DAEMONS[@]}"
    for node in $(recorded_nodes); do echo "slurmd-${node}"; done
}

# True when the recorded cluster has exactly nodes "$@" and all its daemons are up.
all_up() {
    local name
    [[ "$(recorded_nodes)" == "$(printf '%s\n' "$@")" ]] || return 1
    for name in $(all_daemons); do
        is_up "${name}" || return 1
    done
}

# Polls command "$3..." until it succeeds, for at most $1 seconds; on timeout fails with one
# line naming what it waited for ($2).
wait_for() {
    local limit_s="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + limit_s))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            die "timed out after ${limit_s}s waiting for ${what} (logs: ${LOG_DIR})"
        fi
        sleep 0.2
    done
}

# Starts daemon $1 (argv "$2...", kept in the foreground by its own flag) in a new session so
# that a `timeout` or Ctrl-C around this script does not take it down, and records its PID.
# setsid, nsenter, unshare and `sh -c exec` all exec in place, so $! ends up being the daemon.
spawn() {
    local name="$1" pid i
    shift
    setsid "$@" </dev/null >>"${LOG_DIR}/${name}.out" 2>&1 &
    pid=$!
    echo "${pid}" >"${PID_DIR}/${name}.pid"
    for ((i = 0; i < 30; i++)); do # the exec chain takes a few ms
        is_up "${name}" && return 0
        running "${pid}" || break
        sleep 0.1
    done
    die "${name} exited right after start (or never became ${name%%-*});" \
        "see ${LOG_DIR}/${name}.out and ${LOG_DIR}/${name%%-*}*.log"
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

# ---------------------------------------------------------------------------------------------
# Configuration

write_configs() {
    local host node node_line real_mem_mb node_mem_mb i node_list="node1"
    local -a nodes=("$@")
    ((${#nodes[@]} == 1)) || node_list="node[1-${#nodes[@]}]"
    host="$(hostname -s)"
    mkdir -p "${CONF_DIR}" "${LOG_DIR}" "${PID_DIR}" "${RUN_DIR}" "${GPU_DEV_DIR}" \
        "${SPOOL_DIR}/slurmctld" /etc/slurm

    # `slurmd -C` knows the real topology; RealMemory a bit under the real value, or slurmd
    # reports less than configured (rounding, kernel reservations) and the node goes INVALID.
    # Every node claims the machine's cores and 95% of its memory: overcommitted on purpose.
    node_line="$(slurmd -C | head -n 1)"
    real_mem_mb="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"${node_line}")"
    [[ -n "${real_mem_mb}" ]] || die "cannot read RealMemory from 'slurmd -C': ${node_line}"
    node_mem_mb=$((real_mem_mb * 95 / 100))
    node_line="${node_line/RealMemory=${real_mem_mb}/RealMemory=${node_mem_mb}}"
    node_line="NodeName=DEFAULT ${node_line#NodeName=* }"

    cat >"${CONF_DIR}/slurm.conf" <<EOF
# Written by slurm/local-cluster.sh; edit the script, not this file.
ClusterName=${CLUSTER_NAME}
# The controller runs in the machine's own namespaces and is reached over the bridge.
SlurmctldHost=${host}(${BRIDGE_IP})
# slurmctld binds to what its host name resolves to (the bridge address: the script gives it
# the nodes' /etc/hosts), not to every interface of the machine.
CommunicationParameters=NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# This cluster's own munged. cred_expire: a requeued job may start cred_expire + 1 s after the
# requeue (default 120 s).
AuthInfo=socket=${MUNGE_SOCKET},cred_expire=10
# For connections to slurmdbd, AccountingStoragePass names the munge socket.
AccountingStoragePass=${MUNGE_SOCKET}
# No MTA here; without a valid MailProg slurmctld logs an error at every start.
MailProg=/bin/true
StateSaveLocation=${SPOOL_DIR}/slurmctld
# %n: each node's slurmd has its own spool, pidfile and log.
SlurmdSpoolDir=${SPOOL_DIR}/slurmd-%n
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd-%n.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd-%n.log
# No cgroups in a container: track processes by parent PID, bind tasks with affinity.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
# Node failure: a dead slurmd is declared DOWN (its jobs NODE_FAIL, requeued) after
# SlurmdTimeout; a node whose slurmd comes back is in service again at once.
SlurmdTimeout=5
ReturnToService=2
JobRequeue=1
# Finished jobs stay visible to squeue for 5 minutes.
MinJobAge=300
SchedulerType=sched/backfill
# The backfill pass is what starts a requeued job; every second instead of every 30.
SchedulerParameters=bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
# The bridge address, so that sacct also works from inside jobs (in the node namespaces).
AccountingStorageHost=${BRIDGE_IP}
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
GresTypes=gpu
${node_line} Gres=gpu:${NUM_FAKE_GPUS} State=UNKNOWN
EOF
    for node in "${nodes[@]}"; do
        echo "NodeName=${node} NodeAddr=$(node_ip "${node}")" >>"${CONF_DIR}/slurm.conf"
    done
    cat >>"${CONF_DIR}/slurm.conf" <<EOF
# DefMemPerCPU: without a default each job takes the whole node's memory and jobs serialise.
# LLN (least loaded node): one-core jobs go to the emptiest node instead of filling node1
# first, so that a handful of CPU rules spread over the nodes as a busy cluster's would.
PartitionName=cpu Nodes=${node_list} Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=1000 LLN=YES
EOF

    # Fake GPUs: gres.conf needs CHARACTER devices (regular files log errors, no files at all
    # make the node INVALID). c 1 3 is the same device as /dev/null. Each node has its own.
    cat >"${CONF_DIR}/gres.conf" <<EOF
# Written by slurm/local-cluster.sh. Fake GPUs for scheduling tests; nothing to detect.
AutoDetect=off
EOF
    for node in "${nodes[@]}"; do
        mkdir -p "${GPU_DEV_DIR}/${node}" "${SPOOL_DIR}/slurmd-${node}"
        for ((i = 0; i < NUM_FAKE_GPUS; i++)); do
            [[ -c "${GPU_DEV_DIR}/${node}/nvidia${i}" ]] ||
                mknod "${GPU_DEV_DIR}/${node}/nvidia${i}" c 1 3
        done
        echo "NodeName=${node} Name=gpu File=${GPU_DEV_DIR}/${node}/nvidia[0-$((NUM_FAKE_GPUS - 1))]" \
            >>"${CONF_DIR}/gres.conf"
    done

    cat >"${CONF_DIR}/slurmdbd.conf" <<EOF
# Written by slurm/local-cluster.sh. MariaDB listens on a unix socket only (MYSQL_UNIX_PORT).
AuthType=auth/munge
AuthInfo=socket=${MUNGE_SOCKET}
DbdHost=localhost
DbdAddr=${BRIDGE_IP}
CommunicationParameters=NoInAddrAny
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

    # Inside the nodes and slurmctld: every name that jobs resolve (their own hostname above all: gloo
    # resolves it to pick the address it advertises) maps to a bridge address.
    {
        echo "# Written by slurm/local-cluster.sh: /etc/hosts of the nodes and slurmctld" \
            "(bind mount)."
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        echo "${BRIDGE_IP} ${host}"
        for node in "${nodes[@]}"; do echo "$(node_ip "${node}") ${node}"; done
    } >"${NODE_HOSTS_FILE}"

    # Debian's client tools read /etc/slurm/slurm.conf (and gres.conf beside it).
    ln -sfn "${CONF_DIR}/slurm.conf" /etc/slurm/slurm.conf
    ln -sfn "${CONF_DIR}/gres.conf" /etc/slurm/gres.conf
}

# ---------------------------------------------------------------------------------------------
# Network: one bridge, one veth pair and one network namespace per node

record() { echo "$*" >>"${MADE_FILE}"; }

link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
netns_exists() { [[ -e "/run/netns/$1" ]]; }

# Rewrites /etc/hosts in place (it may be a bind mount that cannot be replaced by a rename)
# without the marked block.
hosts_remove_block() {
    local tmp
    grep -qxF "${HOSTS_BEGIN}" /etc/hosts 2>/dev/null || return 0
    tmp="$(mktemp)"
    awk -v b="${HOSTS_BEGIN}" -v e="${HOSTS_END}" \
        '$0 == b { skip = 1; next } $0 == e && skip { skip = 0; next } !skip' /etc/hosts >"${tmp}"
    cat "${tmp}" >/etc/hosts
    rm -f "${tmp}"
}

make_network() {
    local node ip veth
    # Refuse to touch what is not ours (stop already removed what a previous start made).
    link_exists "${BRIDGE}" && die "a network interface ${BRIDGE} exists that this script did" \
        "not record; remove it first (ip link del ${BRIDGE})"
    if ip -4 -o addr show | grep -qF " ${NET_PREFIX}."; then
        die "the subnet ${NET_PREFIX}.0/24 is already in use here (ip -4 addr);" \
            "pick another with SKYFORGE_SLURM_NET"
    fi
    for node in "$@"; do
        netns_exists "${node}" && die "a network namespace ${node} exists that this script did" \
            "not record; remove it first (ip netns del ${node})"
        link_exists "$(node_veth "${node}")" && die "an interface $(node_veth "${node}") exists" \
            "that this script did not record; remove it first"
    done

    # Each object is recorded before it is made, so that stop also removes a half-made one.
    record bridge "${BRIDGE}"
    ip link add "${BRIDGE}" type bridge
    ip addr add "${BRIDGE_IP}/24" dev "${BRIDGE}"
    ip link set "${BRIDGE}" up
    for node in "$@"; do
        ip="$(node_ip "${node}")"
        veth="$(node_veth "${node}")"
        record netns "${node}"
        ip netns add "${node}"
        record veth "${veth}"
        ip link add "${veth}" type veth peer name "${veth}-n"
        ip link set "${veth}-n" netns "${node}"
        ip -n "${node}" link set "${veth}-n" name eth0
        ip -n "${node}" addr add "${ip}/24" dev eth0
        ip -n "${node}" link set eth0 up
        ip -n "${node}" link set lo up
        ip link set "${veth}" master "${BRIDGE}"
        ip link set "${veth}" up
        # No default route, no NAT, no forwarding: a node reaches the /24 and nothing else.
    done

    # The machine's own namespace (the Snakemake driver, tests) resolves the node names too.
    record hosts /etc/hosts
    hosts_remove_block
    {
        echo "${HOSTS_BEGIN}"
        for node in "$@"; do echo "$(node_ip "${node}") ${node}"; done
        echo "${HOSTS_END}"
    } >>/etc/hosts
}

# Removes what make_network recorded, newest first. A veth goes before its namespace: with
# TCP connections still open, `ip netns del` alone leaves the namespace and its veth for minutes.
remove_network() {
    local kind name
    [[ -s "${MADE_FILE}" ]] || return 0
    while read -r kind name; do
        case "${kind}" in
            hosts) hosts_remove_block ;;
            veth | bridge) ! link_exists "${name}" || ip link del "${name}" ;;
            netns) ! netns_exists "${name}" || ip netns del "${name}" ;;
        esac
    done < <(tac "${MADE_FILE}")
    rm -f "${MADE_FILE}"
}

# The id (net:[INODE]) of node $1's network namespace.
netns_id() { nsenter --net="/run/netns/$1" readlink /proc/self/ns/net; }

# PIDs of the live (non-zombie) processes in node $1's network namespace.
netns_pids() {
    local id line pid
    id="$(netns_id "$1")" || return 0
    # One find for all of /proc: %l is the link target (net:[INODE]), %h is /proc/PID/ns.
    while read -r line; do
        [[ "${line% *}" == "${id}" ]] || continue
        pid="${line##* }"
        pid="${pid#/proc/}"
        pid="${pid%/ns}"
        running "${pid}" && echo "${pid}"
    done < <(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %h\n' 2>/dev/null)
    return 0
}

# SIGKILLs every process in node $1's network namespace until none is left (bounded).
kill_netns() {
    local node="$1" pids i
    netns_exists "${node}" || return 0
    for ((i = 0; i < 100; i++)); do
        pids="$(netns_pids "${node}")"
        [[ -n "${pids}" ]] || return 0
        # shellcheck disable=SC2086 # a list of PIDs
        kill -KILL ${pids} 2>/dev/null || true
        sleep 0.1
    done
    die "processes still alive in ${node}'s network namespace after 10 s: ${pids}"
}

# ---------------------------------------------------------------------------------------------
# Daemons

munge_works() { munge --socket="${MUNGE_SOCKET}" -n | unmunge --socket="${MUNGE_SOCKET}"; }

start_munged() {
    # munged runs as its own user and insists that its files and directories belong to it.
    install -d -o munge -g munge -m 0755 "${MUNGE_DIR}"
    if [[ ! -s "${MUNGE_KEY}" ]]; then
        log "creating ${MUNGE_KEY}"
        mungekey --create --keyfile="${MUNGE_KEY}"
    fi
    chown munge:munge "${MUNGE_KEY}"
    chmod 400 "${MUNGE_KEY}"
    rm -f "${MUNGE_SOCKET}" "${MUNGE_SOCKET}.lock"
    # In the foreground munged logs to stderr, which spawn sends to munged.out.
    spawn munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --key-file="${MUNGE_KEY}" --socket="${MUNGE_SOCKET}" \
        --pid-file="${MUNGE_DIR}/munged.pid" --seed-file="${MUNGE_DIR}/munged.seed"
    wait_for "${START_TIMEOUT_S}" "munged (munge -n | unmunge; ${LOG_DIR}/munged.out)" munge_works
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
    wait_for "${START_TIMEOUT_S}" "mariadbd (mariadb-admin ping; ${LOG_DIR}/mariadbd.log)" \
        mariadb-admin --no-defaults --socket="${MYSQL_SOCKET}" ping
}

# True once the association root/root exists in this cluster.
root_assoc_exists() {
    sacctmgr -n -P show assoc where cluster="${CLUSTER_NAME}" account=root user=root \
        format=user | grep -qx root
}

start_slurmdbd() {
    # slurmdbd has no -f: it reads slurmdbd.conf beside $SLURM_CONF. It connects to MariaDB's
    # unix socket: libmariadb reads the path from MYSQL_UNIX_PORT.
    # shellcheck disable=SC2016 # $1 is sh -c's own argument
    MYSQL_UNIX_PORT="${MYSQL_SOCKET}" spawn slurmdbd unshare --mount \
        sh -c 'mount --bind "$1" /etc/hosts && exec slurmdbd -D' slurmdbd "${NODE_HOSTS_FILE}"
    wait_for "${START_TIMEOUT_S}" "slurmdbd (sacctmgr show cluster; ${LOG_DIR}/slurmdbd.log)" \
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

# slurmctld runs in the machine's network namespace but in a mount namespace of its own whose
# /etc/hosts (the nodes' one) maps this host's name to the bridge address: with
# NoCtldInAddrAny it binds to what its host name resolves to, so it listens on the bridge only
# (the machine's /etc/hosts says 127.0.0.1, which the nodes cannot reach).
start_slurmctld() {
    # shellcheck disable=SC2016 # $1, $2 are sh -c's own arguments
    spawn slurmctld unshare --mount \
        sh -c 'mount --bind "$1" /etc/hosts && exec slurmctld -D -f "$2"' \
        slurmctld "${NODE_HOSTS_FILE}" "${SLURM_CONF}"
    wait_for "${START_TIMEOUT_S}" "slurmctld (scontrol ping; ${LOG_DIR}/slurmctld.log)" \
        bash -c 'scontrol ping | grep -q "is UP"'
}

# Starts node $1's slurmd inside its network namespace, in a new UTS namespace (hostname = the
# node name, from which slurmd takes its NodeName and jobs their hostname) and a new mount
# namespace (the node's /etc/hosts). Not `ip netns exec`: it remounts /sys, which hides
# /sys/fs/cgroup and slurmd fails ("Unable to initialize cgroup plugin").
spawn_slurmd() {
    local node="$1"
    # shellcheck disable=SC2016 # $1..$3 are sh -c's own arguments
    spawn "slurmd-${node}" nsenter --net="/run/netns/${node}" unshare --uts --mount \
        sh -c 'hostname "$1" && mount --bind "$2" /etc/hosts && exec slurmd -D -f "$3"' \
        slurmd "${node}" "${NODE_HOSTS_FILE}" "${SLURM_CONF}"
}

# `sinfo` state of node $1 (idle, mix, alloc, idle*, down*, ...).
node_state() { sinfo -h -n "$1" -o '%t' 2>/dev/null | head -n 1; }

# In service: `idle`, or busy with a job (a requeued one, or one that slurmctld recovered from
# its saved state and still believes running) -- but responding (no `*`), not down, not drained,
# not `inval` (a config that does not match what slurmd finds).
node_in_service() { [[ "$(node_state "$1")" =~ ^(idle|mix|alloc|comp)$ ]]; }

nodes_in_service() {
    local node
    for node in "$@"; do
        node_in_service "${node}" || return 1
    done
}

# slurmctld has noticed that node $1 is gone: not responding (*) or down.
node_seen_down() { [[ "$(node_state "$1")" =~ (\*|down) ]]; }
node_down() { [[ "$(node_state "$1")" == down* ]]; }

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

# ---------------------------------------------------------------------------------------------
# Commands

cmd_stop() {
    local t0 node i
    t0="$(now_s)"
    for node in $(recorded_nodes); do stop_daemon "slurmd-${node}"; done
    stop_daemon slurmd # the single root-namespace slurmd of an older version of this script
    # Job steps and tasks outlive their slurmd; the namespaces only go once they are gone.
    for node in $(recorded_nodes); do kill_netns "${node}"; done
    for ((i = ${#BASE_DAEMONS[@]} - 1; i >= 0; i--)); do
        stop_daemon "${BASE_DAEMONS[i]}"
    done
    remove_network
    rm -f "${NODES_FILE}"
    log "stopped (state kept in ${STATE_DIR}; took $(elapsed_s "${t0}") s)"
}

cmd_start() {
    local t0 name pid num_nodes=1 i
    local -a nodes=()
    while (($#)); do
        case "$1" in
            --nodes) num_nodes="${2:-}"; shift 2 || die "--nodes needs a number" ;;
            --nodes=*) num_nodes="${1#--nodes=}"; shift ;;
            *) die "start: unknown argument '$1' (usage: start [--nodes N])" ;;
        esac
    done
    if ! [[ "${num_nodes}" =~ ^[0-9]+$ ]] || ((num_nodes < 1 || num_nodes > MAX_NODES)); then
        die "--nodes must be a number from 1 to ${MAX_NODES}, not '${num_nodes}'"
    fi
    for ((i = 1; i <= num_nodes; i++)); do nodes+=("$(node_name "${i}")"); done

    t0="$(now_s)"
    [[ "$(id -u)" -eq 0 ]] || die "must run as root (starts daemons, namespaces, writes /etc)"
    if all_up "${nodes[@]}"; then
        log "already running with ${num_nodes} node(s) (state dir ${STATE_DIR}); nothing to do" \
            "(took $(elapsed_s "${t0}") s)"
        return 0
    fi
    if [[ -s "${MADE_FILE}" || -s "${NODES_FILE}" ]] || ls "${PID_DIR}"/*.pid >/dev/null 2>&1
    then
        log "a cluster (or part of one) from an earlier start is here; stopping it for a clean" \
            "start with ${num_nodes} node(s)"
        cmd_stop
    fi
    # A daemon we did not start (a system slurmd, another state dir) would hold the same ports;
    # stopping it is not ours to decide.
    for name in slurmdbd slurmctld slurmd; do
        for pid in $(pgrep -x "${name}" || true); do
            if running "${pid}"; then
                die "a ${name} not started by this script is running (pid ${pid}); stop it first"
            fi
        done
    done
    install_packages
    # A half-started cluster only confuses the next start: take down what this run started.
    trap 'log "start failed; stopping what it started (logs kept in ${LOG_DIR})" >&2
          cmd_stop >&2' EXIT
    write_configs "${nodes[@]}"
    printf '%s\n' "${nodes[@]}" >"${NODES_FILE}"
    make_network "${nodes[@]}"
    start_munged
    start_mariadbd
    start_slurmdbd
    start_slurmctld
    for name in "${nodes[@]}"; do spawn_slurmd "${name}"; done
    wait_for "${START_TIMEOUT_S}" "every node in service in sinfo (slurmd-NODE.log)" \
        nodes_in_service "${nodes[@]}"
    trap - EXIT
    log "up: cluster ${CLUSTER_NAME}, partition cpu, nodes ${nodes[*]} (bridge ${BRIDGE}" \
        "${BRIDGE_IP}/24), ${NUM_FAKE_GPUS} fake GPUs each; state in ${STATE_DIR}" \
        "(took $(elapsed_s "${t0}") s)"
}

cmd_status() {
    local name pid rc=0 node
    for name in "${BASE_DAEMONS[@]}"; do
        if pid="$(live_pid "${name}")"; then
            printf '%-10s up    (pid %s)\n' "${name}" "${pid}"
        else
            printf '%-10s down\n' "${name}"
            rc=1
        fi
    done
    if [[ ! -s "${NODES_FILE}" ]]; then
        echo "nodes      none"
        rc=1
    fi
    for node in $(recorded_nodes); do
        if pid="$(live_pid "slurmd-${node}")"; then
            printf '%-10s up    (pid %s) %s %s\n' slurmd "${pid}" "${node}" "$(node_ip "${node}")"
        else
            printf '%-10s down  %s %s\n' slurmd "${node}" "$(node_ip "${node}")"
            rc=1
        fi
    done
    if is_up slurmctld; then
        sinfo || rc=1
    fi
    return "${rc}"
}

# Checks that $1 is a node of the running cluster (with its namespace).
require_node() {
    [[ -n "${1:-}" ]] || die "which node? (usage: $2 NODE)"
    recorded_nodes | grep -qxF "$1" || die "$1 is not a node of the running cluster" \
        "(nodes: $(recorded_nodes | tr '\n' ' '))"
    netns_exists "$1" || die "$1 has no network namespace; start the cluster again"
    is_up slurmctld || die "slurmctld is not running; start the cluster first"
}

cmd_fail_node() {
    local node="" wait=1 t0 t_seen=""
    while (($#)); do
        case "$1" in
            --no-wait) wait=0 ;;
            -*) die "fail-node: unknown option '$1'" ;;
            *) node="$1" ;;
        esac
        shift
    done
    require_node "${node}" "fail-node"
    t0="$(now_s)"
    kill_netns "${node}"
    rm -f "${PID_DIR}/slurmd-${node}.pid"
    log "killed every process in ${node}'s network namespace"
    ((wait)) || return 0
    # Real detection: slurmctld's pings fail, then after SlurmdTimeout it sets the node DOWN
    # (its jobs NODE_FAIL, requeued). No `scontrol update` shortcut.
    local deadline=$((SECONDS + FAIL_TIMEOUT_S))
    until node_down "${node}"; do
        if [[ -z "${t_seen}" ]] && node_seen_down "${node}"; then
            t_seen="$(elapsed_s "${t0}")"
            log "slurmctld: ${node} not responding after ${t_seen} s"
        fi
        ((SECONDS < deadline)) ||
            die "timed out after ${FAIL_TIMEOUT_S}s waiting for slurmctld to set ${node} DOWN" \
                "(sinfo state: $(node_state "${node}"))"
        sleep 0.2
    done
    log "slurmctld: ${node} DOWN ($(node_state "${node}")) $(elapsed_s "${t0}") s after the kill"
}

cmd_start_node() {
    local node="${1:-}" t0
    require_node "${node}" "start-node"
    if is_up "slurmd-${node}"; then
        log "${node}'s slurmd is already running; nothing to do"
        return 0
    fi
    t0="$(now_s)"
    # A slurmd restarted within ~1 s of a kill is never noticed: its jobs stay RUNNING forever.
    # Restart only once slurmctld has seen the node gone.
    if ! node_seen_down "${node}"; then
        log "waiting for slurmctld to notice that ${node} is gone before restarting it"
        wait_for "${FAIL_TIMEOUT_S}" "slurmctld to see ${node} not responding or down" \
            node_seen_down "${node}"
    fi
    kill_netns "${node}"
    spawn_slurmd "${node}"
    wait_for "${FAIL_TIMEOUT_S}" "${node} back in service in sinfo (${LOG_DIR}/slurmd-${node}.log)" \
        node_in_service "${node}"
    log "${node} back: $(node_state "${node}") (took $(elapsed_s "${t0}") s)"
}

cmd="${1:-}"
(($#)) && shift
case "${cmd}" in
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    fail-node) cmd_fail_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    *)
        echo "usage: $0 start [--nodes N] | stop | status | fail-node NODE [--no-wait]" \
            "| start-node NODE" >&2
        exit 2
        ;;
esac
