# Provisioning step (after common.sh): the hosts' mutual trust for live migration. Peer-to-peer
# migration has the SOURCE host's libvirtd (root) open qemu+ssh://USER@PEER/system with the
# source's own key; the peer checks it in USER's authorized_keys, the source checks the peer's
# host key in /etc/ssh/ssh_known_hosts. Nothing of the jump box is used on the hosts.
#
#   key                 make this host's migration key pair if missing (the private key is made
#                       here and never leaves the host); print its public key, this host's
#                       host keys and its own addresses (for the peers' from= restriction)
#   trust USER LINE...  install the peers' public keys (LINE "auth:<authorized_keys line>") in
#                       USER's ~/.ssh/authorized_keys and their host keys (LINE
#                       "known:<known_hosts line>") in /etc/ssh/ssh_known_hosts; lines this
#                       step wrote before (marked mvm-tui-migration) are replaced, others kept
#   reach NAME=URI...   from this host, as root (as libvirtd does), `virsh -c URI hostname` for
#                       every peer: one line per peer, "ok" or "fail" with the reason
# Every line it prints for the jump box starts "mvm-migration: ".
KEY_DIR="${MVM_MIGRATION_DIR:-/var/lib/mvm-tui/migration}"
KEY="$KEY_DIR/id_ed25519"
KNOWN="${MVM_KNOWN_HOSTS_FILE:-/etc/ssh/ssh_known_hosts}"
MARK=mvm-tui-migration
TYPES='(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521)'
B64='[A-Za-z0-9+/]+={0,3}'
AUTH_RE="^from=\"[0-9A-Fa-f.:,]+\",restrict $TYPES $B64 $MARK@[A-Za-z0-9._-]+\$"
KNOWN_RE="^[][A-Za-z0-9.:,-]+ $TYPES $B64 $MARK\$"
info() { echo "mvm-migration: $*"; }
mode="${1:-}"; shift || true

# Write $2 (the wanted content) to $1 (mode $3, owner $4) unless it holds exactly that already.
converge() {
  local file="$1" want="$2" perm="$3" owner="$4" tmp
  if [ -f "$file" ] && [ "$(cat "$file")" = "$want" ]; then
    say "$file already holds the peers' entries"
    return 0
  fi
  need "$file lacks the peers' current entries" "writing the peers' entries to $file"
  tmp="$(mktemp "$file.XXXXXX")"
  printf '%s\n' "$want" > "$tmp"
  chmod "$perm" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$file"
}

case "$mode" in
  key)
    if [ -s "$KEY" ] && [ -s "$KEY.pub" ]; then
      say "migration key $KEY already made"
    else
      need "no migration key $KEY" "making the migration key $KEY (it stays on this host)"
      install -d -m 700 "$KEY_DIR"
      rm -f "$KEY" "$KEY.pub"
      ssh-keygen -q -t ed25519 -N '' -C "$MARK@$(hostname -s)" -f "$KEY" >/dev/null
    fi
    info "key $(cut -d' ' -f1-3 "$KEY.pub")"
    for f in /etc/ssh/ssh_host_*_key.pub; do
      [ -s "$f" ] && info "hostkey $(cut -d' ' -f1-2 "$f")"
    done
    ip -o addr show scope global | awk '{split($4, a, "/"); print "mvm-migration: address " a[1]}'
    ;;
  trust)
    user="${1:?trust USER LINE...}"; shift
    case "$user" in *[!A-Za-z0-9_.-]*|-*) say "not a user name: $user"; exit 2 ;; esac
    entry="$(getent passwd "$user")" || { say "no user $user on this host"; exit 1; }
    home="$(cut -d: -f6 <<<"$entry")"
    group="$(id -gn "$user")"
    auth=(); known=()
    for line in "$@"; do
      # grep matches line by line: a value of several lines is refused whole
      case "$line" in *$'\n'*|*$'\r'*) say "refused line: it holds a line break"; exit 2 ;; esac
      case "$line" in
        auth:*) line="${line#auth:}"
                grep -Eq "$AUTH_RE" <<<"$line" || { say "refused authorized key: $line"; exit 2; }
                auth+=("$line") ;;
        known:*) line="${line#known:}"
                 grep -Eq "$KNOWN_RE" <<<"$line" || { say "refused host key: $line"; exit 2; }
                 known+=("$line") ;;
        *) say "unknown trust line: $line"; exit 2 ;;
      esac
    done
    ak="${MVM_AUTHORIZED_KEYS:-$home/.ssh/authorized_keys}"
    if [ ! -d "$(dirname "$ak")" ]; then
      need "no $(dirname "$ak")" "making $(dirname "$ak")"
      install -d -m 700 -o "$user" -g "$group" "$(dirname "$ak")"
    fi
    keep="$(grep -Ev " $MARK@[A-Za-z0-9._-]+\$" "$ak" 2>/dev/null || true)"
    want="$(printf '%s\n' "$keep" "${auth[@]}" | sed '/^$/d')"
    converge "$ak" "$want" 600 "$user:$group"
    keep="$(grep -Ev " $MARK\$" "$KNOWN" 2>/dev/null || true)"
    want="$(printf '%s\n' "$keep" "${known[@]}" | sed '/^$/d')"
    converge "$KNOWN" "$want" 644 root:root
    say "${#auth[@]} peer keys authorized for $user, ${#known[@]} peer host keys known"
    ;;
  reach)
    [ -s "$KEY" ] || { info "nokey $KEY"; say "no migration key $KEY on this host"; exit 1; }
    rc=0
    for pair in "$@"; do
      name="${pair%%=*}"; uri="${pair#*=}"
      if out="$(timeout 30 virsh -q -c "$uri" hostname </dev/null 2>&1)"; then
        info "peer $name ok $out"
      else
        info "peer $name fail $(grep -v '^$' <<<"$out" | tail -n 2 | paste -sd' ')"
        rc=1
      fi
    done
    exit "$rc"
    ;;
  *) say "usage: migration.sh [--check] key | trust USER LINE... | reach NAME=URI..."; exit 2 ;;
esac
finish
