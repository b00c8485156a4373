# Provisioning step (after common.sh: [--check] [CPU_MODEL]): KVM and libvirt. The CPU model
# is the cluster's: once libvirtd answers, it must be one libvirt can give VMs here, else exit 1
# with the models that are.
model="${1:-}"
case "$model" in *[!A-Za-z0-9._-]*|-*) say "not a CPU model name: $model"; exit 2 ;; esac
# what matters is that the programs are there (a host may carry them from other packages)
missing=()
for pair in qemu-system-x86_64:qemu-system-x86 libvirtd:libvirt-daemon-system virsh:libvirt-clients; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  need "missing packages: ${missing[*]}" "installing ${missing[*]}"
  apt_install "${missing[@]}"
else
  say "qemu-system-x86_64, libvirtd and virsh already installed"
fi
if systemctl is-active libvirtd >/dev/null 2>&1; then
  say "libvirtd already running"
else
  need "libvirtd is not running" "starting libvirtd"
  systemctl enable libvirtd >/dev/null 2>&1 || true
  systemctl start libvirtd
fi
for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c qemu:///system version | sed 's/^/mvm-provision: /'
if [ -n "$model" ]; then
  # host-model, host-passthrough: the mode is supported; a named model: usable under custom.
  # One per line: the modes first, then the named models sorted.
  usable=$(virsh -c qemu:///system domcapabilities | python3 -c '
import sys, xml.etree.ElementTree as ET
modes, named = [], []
for mode in ET.parse(sys.stdin).getroot().findall("./cpu/mode"):
    if mode.get("supported") != "yes":
        continue
    if mode.get("name") in ("host-model", "host-passthrough"):
        modes.append(mode.get("name"))
    elif mode.get("name") == "custom":
        named += [m.text.strip() for m in mode.findall("model")
                  if m.get("usable") == "yes" and (m.text or "").strip()]
modes.sort(key=("host-model", "host-passthrough").index)
print("\n".join(modes + sorted(set(named), key=lambda n: (n.lower(), n))))
') || { say "virsh domcapabilities failed: cannot check CPU model $model"; exit 1; }
  if grep -qxF -- "$model" <<<"$usable"; then
    say "CPU model $model is usable"
  else
    list=$(paste -sd, <<<"$usable" | sed 's/,/, /g')
    say "CPU model $model is not usable on this host; usable: ${list:-none}"
    exit 1
  fi
fi
finish
