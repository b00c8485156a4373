# Provisioning step (after common.sh: [--check] BRIDGE COMPUTE_IF DATAPATH VLAN...): Open
# vSwitch, the compute bridge with the compute interface as its trunk, and a libvirt network
# "BRIDGE" with a port group per VLAN (vlan-N) for the VMs.
BR="$1" IF="$2" DP="$3"; shift 3; VLANS=("$@")
VS=(ovs-vsctl --timeout=10)
if command -v ovs-vswitchd >/dev/null 2>&1 && command -v ovs-vsctl >/dev/null 2>&1; then
  say "ovs-vswitchd and ovs-vsctl already installed"
else
  need "openvswitch-switch is not installed" "installing openvswitch-switch"
  apt_install openvswitch-switch
fi
if "${VS[@]}" show >/dev/null 2>&1; then
  say "Open vSwitch already running"
else
  need "Open vSwitch is not running" "starting Open vSwitch"
  systemctl enable openvswitch-switch >/dev/null 2>&1 || true
  systemctl start openvswitch-switch
fi
ip link show "$IF" >/dev/null 2>&1 || { say "no interface $IF on this host"; exit 2; }
if "${VS[@]}" br-exists "$BR"; then
  say "bridge $BR already there"
else
  need "no bridge $BR" "creating bridge $BR (datapath $DP)"
  "${VS[@]}" add-br "$BR" -- set bridge "$BR" datapath_type="$DP"
fi
if [ "$("${VS[@]}" port-to-br "$IF" 2>/dev/null || true)" = "$BR" ]; then
  say "$IF already the trunk of $BR"
else
  need "$IF is not a port of $BR" "adding $IF to $BR as the trunk of VLANs ${VLANS[*]}"
  "${VS[@]}" add-port "$BR" "$IF" -- set port "$IF" trunks="$(IFS=,; echo "${VLANS[*]}")"
fi
xml="<network><name>$BR</name><forward mode='bridge'/><bridge name='$BR'/>"
xml+="<virtualport type='openvswitch'/>"
for v in "${VLANS[@]}"; do xml+="<portgroup name='vlan-$v'><vlan><tag id='$v'/></vlan></portgroup>"; done
xml+="</network>"
V=(virsh -q -c qemu:///system)
groups() { grep -o "portgroup name=.vlan-[0-9]*" | sed 's/.*vlan-//' | sort -n | tr '\n' ' '; }
# (outputs are kept before grep -q reads them: with pipefail, a writer cut short by grep's
# early exit would make the test fail)
defined="$("${V[@]}" net-dumpxml "$BR" 2>/dev/null || true)"
have="$(groups <<<"$defined" || true)"
want="$(groups <<<"$xml")"
if [ -n "$have" ] && [ "$have" = "$want" ] && grep -q "virtualport type=.openvswitch" <<<"$defined"
then
  say "libvirt network $BR with port groups for VLANs ${VLANS[*]} already defined"
else
  need "libvirt network $BR missing or different" \
    "defining libvirt network $BR (a port group per VLAN: ${VLANS[*]})"
  if [ -n "$have" ]; then "${V[@]}" net-destroy "$BR" >/dev/null 2>&1 || true; fi
  f="$(mktemp)"; echo "$xml" > "$f"; "${V[@]}" net-define "$f" >/dev/null; rm -f "$f"
fi
if grep -q "^Active:.*yes" <<<"$("${V[@]}" net-info "$BR" 2>/dev/null || true)"; then
  say "libvirt network $BR already active"
else
  need "libvirt network $BR not active" "starting libvirt network $BR"
  "${V[@]}" net-start "$BR" >/dev/null
  "${V[@]}" net-autostart "$BR" >/dev/null
fi
finish
