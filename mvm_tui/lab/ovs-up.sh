#!/bin/bash
# Run INSIDE a lab host (via $LAB/hx-hN): start Open vSwitch as a boot would and build the
# compute bridge. No kernel module here: the bridge uses the userspace datapath (netdev).
# The host's own /etc/openvswitch (conf.db, kept across power-off) and /run/openvswitch
# (db.sock, pid files, control sockets, logs) are bind mounts of per-host directories.
# Usage: ovs-up.sh BRIDGE VLAN...   e.g. ovs-up.sh br-compute 100 101
# Builds, idempotently: BRIDGE (datapath_type=netdev); per VLAN an internal access port vlanV
# with tag=V; a trunk port tr-compute (a veth, peer tr-compute-p) carrying every VLAN.
set -euo pipefail
BR="${1:?usage: ovs-up.sh BRIDGE VLAN...}"; shift
VLANS=("$@")
R=/run/openvswitch; E=/etc/openvswitch
for d in "$R" "$E"; do
  mountpoint -q "$d" || { echo "$d is not this host's own (no bind mount): rebuild the lab" >&2
                          exit 1; }
done
# a daemon is alive if its pid file names a process that is not a zombie (kill -0 succeeds on
# one: a killed daemon stays a zombie until PID 1 reaps it)
alive() {
  local state
  state="$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$(cat "$1" 2>/dev/null)/status" \
    2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
[ -s "$E/conf.db" ] || ovsdb-tool create "$E/conf.db" /usr/share/openvswitch/vswitch.ovsschema
if ! alive "$R/ovsdb-server.pid"; then
  rm -f "$R/db.sock" "$R/ovsdb-server.pid" "$R"/ovsdb-server.*.ctl
  ovsdb-server "$E/conf.db" --remote=punix:"$R/db.sock" --pidfile="$R/ovsdb-server.pid" \
    --detach --log-file="$R/ovsdb-server.log" </dev/null
fi
VS=(ovs-vsctl --timeout=10)
"${VS[@]}" --no-wait init
if ! alive "$R/ovs-vswitchd.pid"; then
  rm -f "$R/ovs-vswitchd.pid" "$R"/ovs-vswitchd.*.ctl
  ovs-vswitchd unix:"$R/db.sock" --pidfile="$R/ovs-vswitchd.pid" --detach \
    --log-file="$R/ovs-vswitchd.log" </dev/null
fi
"${VS[@]}" --may-exist add-br "$BR" -- set bridge "$BR" datapath_type=netdev
for v in "${VLANS[@]}"; do
  "${VS[@]}" --may-exist add-port "$BR" "vlan$v" -- set port "vlan$v" tag="$v" \
    -- set interface "vlan$v" type=internal
done
if [ "${#VLANS[@]}" -gt 0 ]; then
  # a veth survives a power-off (the netns stays); its tx checksum offload must be off or TCP
  # through the userspace datapath fails
  ip link show tr-compute >/dev/null 2>&1 || ip link add tr-compute type veth peer name tr-compute-p
  for l in tr-compute tr-compute-p; do
    ip link set "$l" up
    if command -v ethtool >/dev/null; then ethtool -K "$l" tx off >/dev/null; fi
  done
  trunks="$(IFS=,; echo "${VLANS[*]}")"
  "${VS[@]}" --may-exist add-port "$BR" tr-compute -- set port tr-compute trunks="$trunks"
fi
for p in "$BR" "${VLANS[@]/#/vlan}"; do ip link set "$p" up; done
echo "ovs: ovsdb-server $(cat "$R/ovsdb-server.pid"), ovs-vswitchd $(cat "$R/ovs-vswitchd.pid"):" \
  "$BR with VLANs ${VLANS[*]:-none}"
