# Sent before every provisioning script, as one text to `bash -s` run as root on the host
# (services.provision.script_text): what every step shares. Previews name only the step's own
# script. A script is idempotent: what is in place is said and left alone; with --check first it
# changes nothing and exits 1 if anything is missing. Its last line is "mvm-provision: changed"
# or "mvm-provision: unchanged" (finish).
set -euo pipefail
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
changed=0
say() { echo "mvm-provision: $*"; }
# something missing: with --check, say it and fail; else say what is done about it
need() { [ $check = 1 ] && { say "$1"; exit 1; }; say "$2"; changed=1; }
# apt-get install, its status lines on stdout for the step's progress bar; with MVM_NO_INSTALL=1
# (install_packages = false) a missing package is an error instead
apt_install() {
  [ "${MVM_NO_INSTALL:-}" = 1 ] && { say "missing: $* (install_packages is false)"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o APT::Status-Fd=1 "$@"
}
finish() { if [ $changed = 1 ]; then say changed; else say unchanged; fi; }
