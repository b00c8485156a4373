#!/bin/bash
# Run INSIDE a lab host (via $LAB/hx-hN): start libvirtd and every Ceph daemon that has a data
# directory on this host, as a boot would. A memstore OSD that lost its store (host powered
# off) is re-created empty with its old id and uuid; Ceph backfills it.
set -euo pipefail
units=(libvirtd)
for d in /var/lib/ceph/mon/ceph-* /var/lib/ceph/mgr/ceph-*; do
  [ -d "$d" ] || continue
  kind="$(basename "$(dirname "$d")")"
  units+=("ceph-$kind@${d##*/ceph-}")
done
rc=0
disabled() { [ -e "/var/lib/ceph/disabled/$1" ]; }  # systemctl disable (a decommission)
for u in "${units[@]}"; do
  disabled "$u" && continue
  systemctl start "$u" || { echo "cannot start $u" >&2; rc=1; }
done
for _ in $(seq 200); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.05; done
for d in /var/lib/ceph/osd/ceph-*; do
  [ -d "$d" ] || continue
  id="${d##*/ceph-}"
  disabled "ceph-osd@$id" && continue
  if ! systemctl start "ceph-osd@$id" 2>/dev/null; then
    echo "osd.$id: store lost, re-creating it empty"
    ceph-osd -i "$id" --mkfs --osd-uuid "$(cat "$d/mvmlab-uuid")" >"$d/mkfs.log" 2>&1 || true
    systemctl start "ceph-osd@$id" || { echo "cannot start osd.$id" >&2; rc=1; }
  fi
done
# the self-fencing agent, as mvm-selffence.service would run it on a real host
if [ -n "${SELFFENCE:-}" ]; then
  pidf=/run/mvm-tui/selffence.pid
  if ! { [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }; then
    mkdir -p /run/mvm-tui
    # shellcheck disable=SC2086  # the peers are words
    setsid "$SELFFENCE" "$SELFFENCE_AFTER" $SELFFENCE_PEERS </dev/null \
      >>/run/mvm-tui/selffence.log 2>&1 &
    echo $! >"$pidf"
  fi
fi
exit "$rc"
