#!/bin/bash
# Bring up (or "boot" again) lab host N: an anchor process in netns mvmlab-hN holding its own
# UTS + mount namespaces, with per-host bind mounts over /etc/ssh /etc/libvirt /run/libvirt
# /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/ceph /var/lib/ceph /run/ceph
# /var/log/ceph /run/mvmlab /usr/local/sbin /etc/hostname /etc/openvswitch /run/openvswitch
# /run/mvm-tui /var/lib/mvm-tui (the self-fencing agent, the maintenance marker), /root, and a
# tmpfs of its own on /tmp; the lab's state directory is hidden (a tmpfs over it) but for its
# shared storage ($LAB/shared, $LAB/cache: what NFS would share), so a path that exists only on
# the jump box (the lab's ssh key) does not exist on a host, as on real hosts;
# then sshd inside it (own host key).
# Usage: LAB=/tmp/mvm-lab host-up.sh N ADDRESS      (the netns and its veth must exist)
set -euo pipefail
i="$1"; ip_addr="$2"
LAB="${LAB:?LAB must be set}"; H="h$i"; NS="mvmlab-$H"; D="$LAB/hosts/$H"
HERE="$(cd "$(dirname "$0")" && pwd)"
# log-libvirt/qemu: libvirtd makes it at a host's first domain start, after it needs it for a
# guest's serial console file (a `linux` guest as the first guest of a host failed to start)
mkdir -p "$D"/{etc-ssh,etc-libvirt/qemu,run-libvirt,lib-libvirt,log-libvirt/qemu,cache-libvirt} \
  "$D"/{etc-ceph,lib-ceph,run-ceph,log-ceph,run-lab,sbin,home-root,etc-ovs,run-ovs} \
  "$D"/{run-mvm,lib-mvm}
# root's own home on every host: not the machine's, whose dotfiles (a pyenv init in .bashrc,
# say) would run in every ssh session of every host and share its locks
chmod 700 "$D/home-root"
mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/ceph \
  /var/lib/ceph /run/ceph /var/log/ceph /run/mvmlab /run/sshd /usr/local/sbin \
  /etc/openvswitch /run/openvswitch /run/mvm-tui /var/lib/mvm-tui
# --- identity: ssh host key, sshd + ssh client config, libvirt config, hostname ---
[ -f "$D/etc-ssh/ssh_host_ed25519_key" ] || \
  ssh-keygen -q -t ed25519 -N '' -f "$D/etc-ssh/ssh_host_ed25519_key" -C "root@$NS"
[ -f "$LAB/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$LAB/id_ed25519" -C mvmlab-client
cp "$LAB/id_ed25519.pub" "$D/etc-ssh/authorized_keys"
mkdir -p "$LAB/shared" "$LAB/cache"
cp /etc/ssh/moduli "$D/etc-ssh/" 2>/dev/null || true
cat > "$D/etc-ssh/sshd_config" <<CFG
ListenAddress $ip_addr
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/mvmlab/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the jump box's key, and what provisioning authorizes (the peers' migration keys)
AuthorizedKeysFile /etc/ssh/authorized_keys .ssh/authorized_keys
StrictModes no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
MaxStartups 50:30:100
MaxSessions 50
CFG
# ssh from one lab host to another: nothing of the jump box's. Hosts trust each other only
# through what provisioning (or `lab up`, with the same script) sets up: each host's own
# migration key, authorized on its peers, and their host keys in /etc/ssh/ssh_known_hosts.
cat > "$D/etc-ssh/ssh_config" <<CFG
Host *
  SendEnv LANG LC_*
CFG
cat > "$D/etc-libvirt/libvirtd.conf" <<CFG
listen_tls = 0
listen_tcp = 0
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CFG
# root-run qemu, no cgroups/namespaces/security driver: there is no systemd here
cat > "$D/etc-libvirt/qemu.conf" <<CFG
user = "root"
group = "root"
dynamic_ownership = 0
cgroup_controllers = [ ]
namespaces = [ ]
remember_owner = 0
migration_address = "$ip_addr"
migration_host = "$ip_addr"
security_driver = "none"
stdio_handler = "file"
CFG
echo "$NS" > "$D/hostname"
cp "$HERE/systemctl-shim" "$D/sbin/systemctl"
chmod 755 "$D/sbin/systemctl"
# shellcheck disable=SC2016  # expanded by the inner shell
printf '#!/bin/bash\nexec nsenter -t "$(cat %q)" -n -m -u -- "$@"\n' "$D/anchor.pid" > "$LAB/hx-$H"
chmod 755 "$LAB/hx-$H"
# --- the anchor: holds the netns plus its own mount + UTS namespaces ---
if [ -s "$D/anchor.pid" ] && kill -0 "$(cat "$D/anchor.pid")" 2>/dev/null; then
  echo "$H: anchor already running"
else
  # a boot: /run is empty
  rm -rf "$D"/run-libvirt/* "$D"/run-ceph/* "$D"/run-lab/* "$D"/run-ovs/* "$D"/run-mvm/* \
    "$D/anchor.pid"
  # shellcheck disable=SC2016  # expanded by the inner shell
  ip netns exec "$NS" unshare --uts --mount --propagation private -- bash -c '
    set -e
    D="$1"; LAB="$3"; SRC="$4"
    exec 3>"$D/anchor.pid"  # written once every mount is in place; the lab dir is hidden then
    # the lab scripts run inside the host from the source tree: kept visible wherever the
    # checkout is (a clone under /tmp or /root would be hidden below), as a provisioning tool
    # would have its scripts on the host
    keep="/run/mvmlab-src.$$"
    mkdir -p "$keep"
    mount --bind "$SRC" "$keep"
    hostname "$2"
    for pair in etc-ssh:/etc/ssh etc-libvirt:/etc/libvirt run-libvirt:/run/libvirt \
        lib-libvirt:/var/lib/libvirt log-libvirt:/var/log/libvirt cache-libvirt:/var/cache/libvirt \
        etc-ceph:/etc/ceph lib-ceph:/var/lib/ceph run-ceph:/run/ceph log-ceph:/var/log/ceph \
        run-lab:/run/mvmlab sbin:/usr/local/sbin hostname:/etc/hostname home-root:/root \
        etc-ovs:/etc/openvswitch run-ovs:/run/openvswitch run-mvm:/run/mvm-tui \
        lib-mvm:/var/lib/mvm-tui; do
      mount --bind "$D/${pair%%:*}" "${pair#*:}"
    done
    if [ -b "$(cat "$D/loop" 2>/dev/null)" ] && [ -e /dev/mvmlab-osd ]; then
      mount --bind "$(cat "$D/loop")" /dev/mvmlab-osd
    fi
    # what a real host does not share with the jump box: /tmp, and the lab directory (wherever
    # it is), but for the shared storage, kept aside and put back at the same paths
    mkdir -p /run/mvmlab/.shared /run/mvmlab/.cache
    mount --bind "$LAB/shared" /run/mvmlab/.shared
    mount --bind "$LAB/cache" /run/mvmlab/.cache
    mount -t tmpfs -o mode=1777,size=512m tmpfs /tmp
    if [ -d "$LAB" ]; then mount -t tmpfs -o mode=755,size=1m tmpfs "$LAB"; fi
    mkdir -p "$LAB/shared" "$LAB/cache"
    mount --move /run/mvmlab/.shared "$LAB/shared"
    mount --move /run/mvmlab/.cache "$LAB/cache"
    rmdir /run/mvmlab/.shared /run/mvmlab/.cache
    mkdir -p "$SRC"
    mount --move "$keep" "$SRC"
    rmdir "$keep"
    echo $$ >&3
    exec 3>&-
    exec sleep infinity
  ' anchor "$D" "$NS" "$LAB" "$(cd "$HERE/.." && pwd)" </dev/null >"$D/anchor.log" 2>&1 &
  for _ in $(seq 100); do [ -s "$D/anchor.pid" ] && break; sleep 0.05; done
  [ -s "$D/anchor.pid" ] || { echo "$H: anchor did not start: $(cat "$D/anchor.log")" >&2; exit 1; }
fi
"$LAB/hx-$H" systemctl start sshd
echo "$H: anchor $(cat "$D/anchor.pid"), sshd $(cat "$D/run-lab/sshd.pid") on $ip_addr"
