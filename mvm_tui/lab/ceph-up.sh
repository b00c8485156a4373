#!/bin/bash
# One Ceph 16 cluster across the lab hosts, no systemd (manual deployment): a mon on every
# host, a mgr on h1, one OSD per host (memstore by default, OBJSTORE=bluestore puts it on the
# host's /dev/mvmlab-osd loop device), and the RBD pool "vms". Daemons run inside their host
# (via $LAB/hx-hN) and daemonize with pid files in the host's /run/ceph.
# Usage: LAB=/tmp/mvm-lab ADDRS="10.213.0.11 10.213.0.12 10.213.0.13" ceph-up.sh
set -euo pipefail
LAB="${LAB:?}"; read -r -a ADDR <<< "${ADDRS:?}"; NH="${#ADDR[@]}"
OBJSTORE="${OBJSTORE:-memstore}"; B="$LAB/ceph-bootstrap"
rm -rf "$B"; mkdir -p "$B"
T0="$(date +%s%N)"; ts() { echo "[$(( ($(date +%s%N) - T0) / 1000000 )) ms] $*"; }
FSID="$(uuidgen)"
MONHOST=""; MONARGS=()
for n in $(seq 1 "$NH"); do
  a="${ADDR[$((n-1))]}"
  MONHOST+="[v2:$a:3300,v1:$a:6789],"
  MONARGS+=(--addv "mvmlab-h$n" "[v2:$a:3300,v1:$a:6789]")
done
cat > "$B/ceph.conf" <<CFG
[global]
fsid = $FSID
mon_host = ${MONHOST%,}
public_network = ${PUBLIC_NETWORK:-10.213.0.0/24}
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
osd_pool_default_size = 2
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 16
osd_pool_default_pgp_num = 16
osd_crush_chooseleaf_type = 1
mon_allow_pool_delete = true
mon_data_avail_warn = 2
mon_data_avail_crit = 1
mon_election_timeout = 2
# a dead OSD is reported down after 8 s (default 20): failover waits for a lost host's OSDs
osd_heartbeat_interval = 2
osd_heartbeat_grace = 8
# slow heartbeats warn from 60 s: never in the lab (the default is 5% of the grace, 400 ms; its
# 15-minute average stays high for long after a cut host or netem test, and shows as HEALTH_WARN)
mon_warn_on_slow_ping_time = 60000
# daemons report PG stats to the mgr every second (default 5): the status settles sooner
mgr_stats_period = 1
mon_max_pg_per_osd = 500
osd_objectstore = $OBJSTORE
memstore_device_bytes = 1073741824
osd_memory_target = 939524096
bluestore_block_path = /dev/mvmlab-osd
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 1
ms_async_op_threads = 1
osd_recovery_sleep = 0
osd_recovery_sleep_hdd = 0
osd_recovery_max_active = 8
osd_max_backfills = 8
log_file = /var/log/ceph/\$cluster-\$name.log
pid_file = /run/ceph/\$cluster-\$name.pid
admin_socket = /run/ceph/\$cluster-\$name.asok
[mon]
mon_warn_on_insecure_global_id_reclaim_allowed = false
CFG
q() { "$@" >/dev/null; }
q ceph-authtool --create-keyring "$B/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
q ceph-authtool --create-keyring "$B/ceph.client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
q ceph-authtool --create-keyring "$B/bootstrap-osd.keyring" --gen-key -n client.bootstrap-osd \
  --cap mon 'profile bootstrap-osd' --cap mgr 'allow r'
q ceph-authtool "$B/mon.keyring" --import-keyring "$B/ceph.client.admin.keyring"
q ceph-authtool "$B/mon.keyring" --import-keyring "$B/bootstrap-osd.keyring"
q monmaptool --create --fsid "$FSID" "${MONARGS[@]}" "$B/monmap"
for n in $(seq 1 "$NH"); do
  H="h$n"; D="$LAB/hosts/$H"
  rm -rf "${D:?}"/lib-ceph/* "${D:?}"/etc-ceph/*
  mkdir -p "$D"/lib-ceph/{mon,mgr,osd,bootstrap-osd,tmp,crash}
  cp "$B/ceph.conf" "$B/ceph.client.admin.keyring" "$D/etc-ceph/"
  cp "$B/bootstrap-osd.keyring" "$D/lib-ceph/bootstrap-osd/ceph.keyring"
  # the host does not see the lab directory: the monmap and mon key go onto its own disk
  cp "$B/monmap" "$B/mon.keyring" "$D/lib-ceph/tmp/"
  "$LAB/hx-$H" ceph-mon --mkfs -i "mvmlab-$H" --monmap /var/lib/ceph/tmp/monmap \
    --keyring /var/lib/ceph/tmp/mon.keyring
  rm -f "$D/lib-ceph/tmp/monmap" "$D/lib-ceph/tmp/mon.keyring"
done
# all mons at once: the first election then has everyone
for n in $(seq 1 "$NH"); do "$LAB/hx-h$n" systemctl start "ceph-mon@mvmlab-h$n" & done
wait
"$LAB/hx-h1" timeout 90 ceph -s >/dev/null   # returns once the mons have a quorum
ts "mons in quorum"
pids=()
"$LAB/hx-h1" bash -c 'set -e; ceph mon enable-msgr2 >/dev/null 2>&1 || true
  ceph osd pool create vms 32 32 replicated >/dev/null 2>&1
  ceph osd pool application enable vms rbd >/dev/null' & pids+=($!)
# shellcheck disable=SC2016  # expanded by the inner shell
"$LAB/hx-h1" bash -c 'set -e; d=/var/lib/ceph/mgr/ceph-mvmlab-h1; mkdir -p "$d"
  ceph auth get-or-create mgr.mvmlab-h1 mon "allow profile mgr" osd "allow *" mds "allow *" \
    > "$d/keyring"
  systemctl start ceph-mgr@mvmlab-h1' & pids+=($!)
# one OSD per host, osd.N-1 on hN, created the way ceph-volume does (one `osd new` call)
for n in $(seq 1 "$NH"); do
  # shellcheck disable=SC2016  # expanded by the inner shell
  "$LAB/hx-h$n" bash -c '
    set -euo pipefail
    ID="$1"; U="$(uuidgen)"; KEY="$(ceph-authtool --gen-print-key)"
    d="/var/lib/ceph/osd/ceph-$ID"; mkdir -p "$d"; echo "$U" > "$d/mvmlab-uuid"
    printf "{\"cephx_secret\": \"%s\"}\n" "$KEY" > "$d/secrets.json"
    ceph osd new "$U" "$ID" -i "$d/secrets.json" -n client.bootstrap-osd \
      -k /var/lib/ceph/bootstrap-osd/ceph.keyring >/dev/null 2>&1
    rm -f "$d/secrets.json"
    ceph-authtool --create-keyring "$d/keyring" --name "osd.$ID" --add-key "$KEY" >/dev/null
    ceph-osd -i "$ID" --mkfs --osd-uuid "$U" >"$d/mkfs.log" 2>&1 || { cat "$d/mkfs.log" >&2; exit 1; }
    systemctl start "ceph-osd@$ID"
    echo "osd.$ID on $(hostname)"' osd "$((n - 1))" & pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ "$rc" = 0 ] || { echo "a ceph daemon did not start" >&2; exit 1; }
ts "mgr, OSDs and pool vms created"
