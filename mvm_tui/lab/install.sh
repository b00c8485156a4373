#!/bin/bash
# Debian 12 packages for the mvm-tui lab (run as root). Skips apt when everything is installed.
# Creates the libvirt-qemu user libvirtd's qemu driver needs (libvirt-daemon-system's postinst
# would, but it needs systemd and is not installed).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(
  openssh-server openssh-client iproute2 iptables procps uuid-runtime cpio
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  qemu-block-extra ceph-mon ceph-osd ceph-mgr ceph-common openvswitch-switch ethtool
  tgt libvirt-daemon-driver-storage-iscsi-direct libvirt-daemon-driver-storage-rbd
)
missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  # no daemon may start in the root namespace while installing (no systemd here anyway)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "all ${#PACKAGES[@]} packages already installed"
fi
getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home \
  --home-dir /var/lib/libvirt --shell /usr/sbin/nologin --user-group libvirt-qemu
