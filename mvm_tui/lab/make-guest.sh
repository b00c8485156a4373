#!/bin/bash
# A tiny real Linux guest from Debian packages only (no image download): Debian's cloud kernel
# + a busybox-static initramfs running acpid, so `virsh shutdown` (ACPI) powers it off, and
# the virtio balloon driver, so libvirt reports the guest's own memory use (dommemstat), and a
# shell on its serial console (ttyS0: the console tests type into it).
# Output: $OUT/vmlinuz and $OUT/initrd.gz (~14 MB + 1 MB); nothing is done when both exist.
# Under this machine's nested KVM a Linux kernel hangs in early boot: run it with TCG
# (domain type='qemu', tiny-linux-vm.xml). Usage: OUT=/tmp/mvm-lab/cache make-guest.sh
set -euo pipefail
OUT="${OUT:?}"
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && zcat "$OUT/initrd.gz" | grep -ac "mvmlab-guest: a little work every second" >/dev/null; then echo "guest kernel cached in $OUT"; exit 0; fi
command -v cpio >/dev/null || apt-get install -y -q cpio
G="$OUT/build"; rm -rf "$G"; mkdir -p "$G"; cd "$G"
kpkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
KPKG="$(kpkg)"
if [ -z "$KPKG" ]; then apt-get update -q >/dev/null; KPKG="$(kpkg)"; fi
apt-get download -q "$KPKG" busybox-static >/dev/null 2>&1
dpkg -x "$KPKG"_*.deb kern
dpkg -x busybox-static_*.deb bb
mkdir -p root/{bin,proc,sys,dev,etc/acpi/PWRF,lib/modules,tmp}
cp bb/bin/busybox root/bin/
for a in sh mount insmod acpid poweroff reboot sleep echo cat cut chmod setsid cttyhack uname; do ln -s busybox "root/bin/$a"; done
cp kern/lib/modules/*/kernel/drivers/acpi/button.ko kern/lib/modules/*/kernel/drivers/input/evdev.ko \
  root/lib/modules/
VIRTIO="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon"
for m in $VIRTIO; do cp kern/lib/modules/*/kernel/drivers/virtio/"$m".ko root/lib/modules/; done
cat > root/init <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
insmod /lib/modules/evdev.ko; insmod /lib/modules/button.ko
ok=1  # in this order: virtio needs virtio_ring's virtio_break_device
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon; do
  insmod /lib/modules/$m.ko || ok=
done
[ -n "$ok" ] && echo "mvmlab-guest: virtio balloon driver ready"
printf '#!/bin/sh\necho "mvmlab-guest: ACPI power button -> poweroff"\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
echo "mvmlab-guest: booted in $(cut -d' ' -f1 /proc/uptime)s"
acpid -c /etc/acpi -a /etc/acpi.map -l /tmp/acpid.log
echo "mvmlab-guest: acpid listening"
# a little work every second: the guest's CPU figure is never 0 (the host counts whole ticks)
echo "mvmlab-guest: a little work every second"
(while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 1; done) &
echo "mvmlab-guest: shell on ttyS0"
while :; do setsid cttyhack sh; done
INIT
chmod +x root/init
printf 'EV_KEY 0x01 KEY_POWER 116 1 PWRF/00000080\n' > root/etc/acpi.map
(cd root && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$OUT/initrd.gz.tmp"
cp kern/boot/vmlinuz-* "$OUT/vmlinuz.tmp"
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"; mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
cd "$OUT"; rm -rf "$G"
ls -la "$OUT/vmlinuz" "$OUT/initrd.gz"
