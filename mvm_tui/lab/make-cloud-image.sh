#!/bin/bash
# A small Debian 12 "cloud image" from Debian packages only (no image download): a 2 GiB raw
# disk (MBR, one ext4 root partition, GRUB for BIOS) with the cloud kernel, cloud-init (NoCloud
# seed only), qemu-guest-agent, openssh-server and growpart, shipped as a compressed qcow2.
# The cloud kernel has no AHCI driver: the seed CD-ROM goes on virtio-scsi, not SATA.
# The console is on ttyS0 (115200). Network: cloud-init hands the NoCloud network-config (v2)
# to netplan, which renders it for systemd-networkd (+ resolved); without one, DHCP on the
# first NIC. Not ifupdown: cloud-init's ENI renderer (and its own networkd one) ignores name
# globs such as `match: {name: "e*"}`. No root password, no SSH host keys, empty machine-id.
# Output: $OUT/debian-12-cloud.qcow2 (+ .recipe stamp); nothing is done when it is valid.
# No loop device or mount is used: the root filesystem is made from a directory
# (mkfs.ext4 -d) and GRUB's boot sectors are written into the disk file.
# Usage: OUT=/tmp/mvm-lab/cache make-cloud-image.sh
set -euo pipefail
OUT="${OUT:?}"
RECIPE="debian-12-cloud 3"  # bump whenever the image content changes
IMG="$OUT/debian-12-cloud.qcow2"
STAMP="$IMG.recipe"
DISK_MIB=2048
SOURCES=/etc/apt/sources.list.d/debian.sources
PKGS="systemd-sysv udev dbus kmod linux-image-cloud-amd64 initramfs-tools zstd grub-pc
  netplan.io systemd-resolved iproute2 netbase iputils-ping openssh-server sudo procps less
  cloud-init cloud-guest-utils qemu-guest-agent"

mkdir -p "$OUT"
exec 9>"$OUT/.cloud-image.lock"
flock 9  # a second run waits for the first, then finds the image cached

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

clean_build() {
  # mmdebstrap unmounts what it mounted unless it was killed: never rm -rf through a bind mount
  awk -v t="$1/" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$1"
}
# Left by a killed run: stale, as that run (and whatever it started) no longer holds the lock.
for old in "$OUT"/.build.*; do if [ -d "$old" ]; then clean_build "$old"; fi; done

if [ -s "$IMG" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$RECIPE" ] &&
   qemu-img check -q "$IMG" >/dev/null 2>&1; then
  echo "cloud image cached in $OUT"; exit 0
fi

T="$(mktemp -d "$OUT/.build.XXXXXX")"
chmod 755 "$T"  # apt downloads as _apt
trap 'clean_build "$T"' EXIT
SECONDS=0

# The same mirrors as the host's apt (and its proxy and Valid-Until settings: a snapshot
# mirror's Release files may have expired).
MIRROR="$(awk '$1 == "URIs:" && $2 !~ /security/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)"
SECURITY="$(awk '$1 == "URIs:" && $2 ~ /security/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"
eval "$(apt-config shell HOST_PROXY Acquire::http::Proxy VALID_UNTIL Acquire::Check-Valid-Until)"
if [ -n "${HOST_PROXY:-}" ]; then export http_proxy="$HOST_PROXY"; fi
aptopts=()
if [ "${VALID_UNTIL:-}" = false ]; then aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"'); fi

UUID="$(cat /proc/sys/kernel/random/uuid)"
R="$T/root"
O="$T/overlay"  # config files laid in before the packages (the kernel's initramfs reads fstab)
mkdir -p "$O/etc/initramfs-tools/conf.d" "$O/etc/default/grub.d" "$O/etc/cloud/cloud.cfg.d" \
  "$O/etc/systemd/system/ssh.service.d" "$O/etc/ssh/sshd_config.d" "$O/etc/udev/rules.d"
# vCPUs and memory added live come up offline in Debian's kernel: online them, as cloud
# images made for hotplug do (Ubuntu's 40-vm-hotadd.rules).
cat > "$O/etc/udev/rules.d/40-vm-hotadd.rules" <<'EOF'
SUBSYSTEM=="cpu", ACTION=="add", TEST=="online", ATTR{online}=="0", ATTR{online}="1"
SUBSYSTEM=="memory", ACTION=="add", TEST=="state", ATTR{state}=="offline", ATTR{state}="online"
EOF
echo "UUID=$UUID / ext4 rw,discard,errors=remount-ro 0 1" > "$O/etc/fstab"
echo "RESUME=none" > "$O/etc/initramfs-tools/conf.d/resume"
CMDLINE="console=tty0 console=ttyS0,115200"
# For update-grub after a kernel upgrade in the guest; the first grub.cfg is written below.
cat > "$O/etc/default/grub.d/50-cloud-image.cfg" <<EOF
GRUB_TIMEOUT=0
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="$CMDLINE"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
EOF
# Only a NoCloud seed (cidata ISO): no probing for metadata services. Any locale other than
# C.UTF-8 makes cloud-init run locale-gen at first boot (slow under TCG).
cat > "$O/etc/cloud/cloud.cfg.d/90-cloud-image.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
locale: C.UTF-8
manage_etc_hosts: true
ssh_genkeytypes: [ ed25519, ecdsa ]
EOF
# No RSA (nor DSA) host key: making one takes 5-20 s under TCG.
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' \
  > "$O/etc/ssh/sshd_config.d/host-keys.conf"
# cloud-init (ordered before ssh) makes the host keys at first boot; should it not run, sshd
# makes its own (sshd -t fails when there are none).
cat > "$O/etc/systemd/system/ssh.service.d/host-keys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || exec ssh-keygen -A'
ExecStartPre=/usr/sbin/sshd -t
EOF

# shellcheck disable=SC2016  # "$1" (the chroot) is for mmdebstrap's sh
mmdebstrap --variant=minbase --include="$PKGS" "${aptopts[@]}" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook="sync-in $O /" \
  --customize-hook='chroot "$1" systemctl enable -q systemd-networkd.service' \
  bookworm "$R" "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
  "deb $SECURITY bookworm-security main"

rm -f "$R"/etc/ssh/ssh_host_* "$R/var/lib/dbus/machine-id"
: > "$R/etc/machine-id"
echo localhost > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"

# GRUB by hand, as grub-install would (it needs the disk as a block device): modules and
# grub.cfg in /boot/grub, boot.img in the MBR, core.img in the gap before the partition.
for k in "$R"/boot/vmlinuz-*; do KVER="${k##*/vmlinuz-}"; done  # just one kernel
mkdir -p "$R/boot/grub/i386-pc"
cp "$R"/usr/lib/grub/i386-pc/*.mod "$R"/usr/lib/grub/i386-pc/*.lst "$R/boot/grub/i386-pc/"
cat > "$R/boot/grub/i386-pc/load.cfg" <<EOF
search.fs_uuid $UUID root
set prefix=(\$root)/boot/grub
EOF
chroot "$R" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -c /boot/grub/i386-pc/load.cfg \
  -p /boot/grub biosdisk part_msdos ext2 search_fs_uuid
cat > "$R/boot/grub/grub.cfg" <<EOF
set default=0
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
search --no-floppy --fs-uuid --set=root $UUID
menuentry 'Debian GNU/Linux 12' {
  linux /boot/vmlinuz-$KVER root=UUID=$UUID ro $CMDLINE
  initrd /boot/initrd.img-$KVER
}
EOF

truncate -s "${DISK_MIB}M" "$T/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$T/disk.raw"
truncate -s "$((DISK_MIB - 1))M" "$T/root.ext4"
mkfs.ext4 -q -F -L rootfs -U "$UUID" -d "$R" "$T/root.ext4"
dd if="$T/root.ext4" of="$T/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$R/usr/lib/grub/i386-pc/boot.img" of="$T/disk.raw" bs=440 count=1 conv=notrunc status=none
# as grub-bios-setup does for a hard disk: nop the jump over "boot drive = 0x80 if DL is bogus"
printf '\x90\x90' | dd of="$T/disk.raw" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$R/boot/grub/i386-pc/core.img" of="$T/disk.raw" bs=512 seek=1 conv=notrunc status=none
qemu-img convert -c -O qcow2 "$T/disk.raw" "$T/image.qcow2"
qemu-img check -q "$T/image.qcow2"

rm -f "$STAMP"
mv "$T/image.qcow2" "$IMG"
echo "$RECIPE" > "$STAMP"
echo "cloud image built in ${SECONDS}s: $(du -h "$IMG" | cut -f1) $IMG (kernel $KVER)"
