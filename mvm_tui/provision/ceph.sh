# Provisioning of Ceph on a host (after common.sh: [--check] WHAT ARGS...). The orchestration
# (services/provision_ceph.py) distributes ceph.conf, the keys and the monmap.
#   packages                  the ceph programs (the packages installed when missing)
#   mon NAME                  this host's monitor: created from /var/lib/ceph/tmp/monmap, started
#   mgr NAME                  a manager on this host, started
#   osd DEVICE                an OSD (bluestore) on the device, started
#   libvirt-rbd               libvirt's RBD storage backend (libvirtd restarted to load it)
what="$1"; shift
owner() { if id ceph >/dev/null 2>&1; then chown -R ceph:ceph "$@"; fi; }
running() { systemctl is-active "$1" >/dev/null 2>&1; }
start() {
  if running "$1"; then say "$1 already running"; else
    need "$1 is not running" "starting $1"
    systemctl enable "$1" >/dev/null 2>&1 || true
    systemctl start "$1"
  fi
}
case "$what" in
  packages)
    missing=()
    for pair in ceph:ceph-common ceph-mon:ceph-mon ceph-mgr:ceph-mgr ceph-osd:ceph-osd \
        ceph-authtool:ceph-common monmaptool:ceph-base; do
      command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      need "missing: ${missing[*]}" "installing $(printf '%s\n' "${missing[@]}" | sort -u | xargs)"
      # shellcheck disable=SC2046  # package names are words
      apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
    else
      say "ceph, ceph-mon, ceph-mgr, ceph-osd, ceph-authtool and monmaptool already installed"
    fi;;
  mon)
    name="$1"; d="/var/lib/ceph/mon/ceph-$name"
    if [ -e "$d/done" ]; then say "monitor $name already created"; else
      need "monitor $name not created" "creating monitor $name"
      mkdir -p "$d" /var/lib/ceph/tmp /run/ceph /var/log/ceph
      ceph-mon --mkfs -i "$name" --monmap /var/lib/ceph/tmp/monmap \
        --keyring /var/lib/ceph/tmp/mon.keyring
      touch "$d/done"; owner "$d" /var/log/ceph
    fi
    start "ceph-mon@$name";;
  mgr)
    name="$1"; d="/var/lib/ceph/mgr/ceph-$name"
    if [ -s "$d/keyring" ]; then say "manager $name already created"; else
      need "manager $name not created" "creating manager $name"
      mkdir -p "$d"
      ceph auth get-or-create "mgr.$name" mon "allow profile mgr" osd "allow *" \
        mds "allow *" > "$d/keyring"
      owner "$d"
    fi
    start "ceph-mgr@$name";;
  libvirt-rbd)
    if grep -q "type='rbd' supported='yes'" <<< "$(virsh -c qemu:///system pool-capabilities)"
    then say "libvirt already has RBD storage pools"; else
      need "libvirt has no RBD storage pools" "installing libvirt-daemon-driver-storage-rbd"
      apt_install libvirt-daemon-driver-storage-rbd
      systemctl restart libvirtd  # it loads its storage backends when it starts
      for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
    fi;;
  osd)
    device="$1"; id=""
    for d in /var/lib/ceph/osd/ceph-*; do
      [ "$(cat "$d/mvm-device" 2>/dev/null)" = "$device" ] && id="${d##*/ceph-}"
    done
    if [ -n "$id" ]; then say "osd.$id already on $device"; else
      need "no OSD on $device" "creating an OSD on $device"
      uuid="$(cat /proc/sys/kernel/random/uuid)"; key="$(ceph-authtool --gen-print-key)"
      secrets="$(mktemp)"; chmod 600 "$secrets"
      printf '{"cephx_secret": "%s"}\n' "$key" > "$secrets"
      id="$(ceph osd new "$uuid" -i "$secrets" -n client.bootstrap-osd \
        -k /var/lib/ceph/bootstrap-osd/ceph.keyring)"
      rm -f "$secrets"
      d="/var/lib/ceph/osd/ceph-$id"; mkdir -p "$d"
      ceph-authtool --create-keyring "$d/keyring" --name "osd.$id" --add-key "$key" >/dev/null
      ln -sf "$device" "$d/block"
      ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" --osd-objectstore bluestore \
        >"$d/mkfs.log" 2>&1 || { cat "$d/mkfs.log" >&2; exit 1; }
      echo "$device" > "$d/mvm-device"; echo bluestore > "$d/type"; owner "$d"
      say "osd.$id created on $device"
    fi
    start "ceph-osd@$id";;
  *) echo "ceph.sh: unknown step $what" >&2; exit 2;;
esac
finish
