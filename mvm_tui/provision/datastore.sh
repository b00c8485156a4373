# Provisioning step (after common.sh): the cluster's external datastore, a libvirt storage
# pool defined, started and autostarted on this host.
#   [--check] nfs NAME SERVER EXPORT_PATH
#   [--check] iscsi NAME PORTAL PORT TARGET_IQN
# NFS: a netfs pool, mounted under /var/lib/mvm-tui/datastores/NAME (mount.nfs: nfs-common).
# iSCSI: an iscsi-direct pool: libvirt and QEMU log in with libiscsi, no kernel initiator; the
# target's LUNs are its volumes. The initiator name is the one in /etc/iscsi/initiatorname.iscsi,
# or iqn.2026-11.io.mvm-tui:HOSTNAME; the target must allow it.
# A pool of that name with another source is an error and is left alone.
for arg in "$@"; do  # the values go into XML: the config allows no other character
  [[ "$arg" =~ ^[A-Za-z0-9._:/-]+$ ]] || { say "refused argument '$arg'"; exit 2; }
done
kind="$1" name="$2"
case "$kind" in
  nfs) server="$3" path="$4"; type=netfs; package=nfs-common
       target="/var/lib/mvm-tui/datastores/$name"
       want="netfs $server - $path" ;;
  iscsi) portal="$3" port="$4" iqn="$5"; type=iscsi-direct
         package=libvirt-daemon-driver-storage-iscsi-direct
         want="iscsi-direct $portal $port $iqn" ;;
  *) say "unknown datastore kind '$kind' (nfs or iscsi)"; exit 2 ;;
esac
virsh() { command virsh -c qemu:///system "$@"; }

# (output captured first: grep -q leaving a pipe early would fail it under pipefail)
supported() {
  grep -q "<pool type='$type' supported='yes'>" <<< "$(virsh pool-capabilities)" || return 1
  [ "$kind" != nfs ] || command -v mount.nfs >/dev/null 2>&1
}
if supported; then
  say "libvirt has $type storage pools"
else
  need "libvirt on this host has no $type storage pools ($package)" "installing $package"
  apt_install "$package"
  systemctl restart libvirtd
  for _ in $(seq 100); do virsh version >/dev/null 2>&1 && break; sleep 0.1; done
  supported || { say "libvirt still has no $type storage pools after installing $package"; exit 1; }
fi

# "TYPE HOST PORT PATH" of a pool's source, "-" for what it has not
source_of() {
  virsh pool-dumpxml "$1" | python3 -c '
import sys, xml.etree.ElementTree as ET
pool = ET.parse(sys.stdin).getroot()
src = pool.find("source")
host = src.find("host") if src is not None else None
path = next((e.get("path") for e in (src if src is not None else []) if e.tag in ("dir", "device")), None)
print(pool.get("type"), *(v or "-" for v in (
    host.get("name") if host is not None else None,
    host.get("port") if host is not None else None, path)))'
}

# a pool this run defined and could not build or start is undefined again: a typo fixed, a
# re-run starts from nothing
defined_now=0 xml=""
trap '[ $? = 0 ] || [ $defined_now = 0 ] || virsh pool-undefine "$name" >/dev/null 2>&1; rm -f "$xml"' EXIT

if virsh pool-info "$name" >/dev/null 2>&1; then
  have="$(source_of "$name")"
  if [ "$have" != "$want" ]; then
    say "a storage pool '$name' exists with another source ($have), not $want: remove it" \
        "(virsh pool-destroy, pool-undefine) or name the datastore differently"
    exit 1
  fi
  say "storage pool $name already defined ($want)"
else
  need "storage pool $name is not defined" "defining storage pool $name ($want)"
  xml="$(mktemp)"
  if [ "$kind" = nfs ]; then
    cat > "$xml" <<EOF
<pool type='netfs'>
  <name>$name</name>
  <source><host name='$server'/><dir path='$path'/><format type='nfs'/></source>
  <target><path>$target</path></target>
</pool>
EOF
  else
    initiator="$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi 2>/dev/null || true)"
    initiator="${initiator:-iqn.2026-11.io.mvm-tui:$(hostname)}"
    say "iSCSI initiator name of this host: $initiator"
    cat > "$xml" <<EOF
<pool type='iscsi-direct'>
  <name>$name</name>
  <source>
    <host name='$portal' port='$port'/>
    <device path='$iqn'/>
    <initiator><iqn name='$initiator'/></initiator>
  </source>
</pool>
EOF
  fi
  virsh pool-define "$xml"
  defined_now=1
  if [ "$kind" = nfs ]; then virsh pool-build "$name"; fi
fi

if grep -q '^State: *running' <<< "$(virsh pool-info "$name")"; then
  say "storage pool $name already running"
else
  need "storage pool $name is not running" "starting storage pool $name"
  virsh pool-start "$name"
fi
if grep -q '^Autostart: *yes' <<< "$(virsh pool-info "$name")"; then
  say "storage pool $name already starts with libvirtd"
else
  need "storage pool $name does not start with libvirtd" "marking storage pool $name autostart"
  virsh pool-autostart "$name"
fi
[ $check = 1 ] || virsh pool-refresh "$name" >/dev/null
say "storage pool $name: $(virsh vol-list "$name" | tail -n +3 | grep -c . || true) volumes"
finish
