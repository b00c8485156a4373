#!/bin/bash
# Provisioning step, run as root on the host (bash -s): KVM and libvirt. Idempotent: what is in
# place is said and left alone. With --check it changes nothing and exits 1 if anything is missing.
# The last line is "mvm-provision: changed" or "mvm-provision: unchanged".
set -euo pipefail
check=0; [ "${1:-}" = --check ] && check=1
say() { echo "mvm-provision: $*"; }
# MVM_NO_INSTALL=1 (install_packages = false): a missing package is an error, not installed
no_install() { [ "${MVM_NO_INSTALL:-}" = 1 ] && { say "missing: $* (install_packages is false)"; exit 1; }; return 0; }
changed=0
# what matters is that the programs are there (a host may carry them from other packages)
missing=()
for pair in qemu-system-x86_64:qemu-system-x86 libvirtd:libvirt-daemon-system virsh:libvirt-clients; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ $check = 1 ] && { say "missing packages: ${missing[*]}"; exit 1; }
  say "installing ${missing[*]}"
  no_install "${missing[@]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  changed=1
else
  say "qemu-system-x86_64, libvirtd and virsh already installed"
fi
if systemctl is-active libvirtd >/dev/null 2>&1; then
  say "libvirtd already running"
else
  [ $check = 1 ] && { say "libvirtd is not running"; exit 1; }
  say "starting libvirtd"
  systemctl enable libvirtd >/dev/null 2>&1 || true
  systemctl start libvirtd
  changed=1
fi
for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c qemu:///system version | sed 's/^/mvm-provision: /'
[ $changed = 1 ] && say changed || say unchanged
