#!/usr/bin/env bash
# install.sh: installs, upgrades and uninstalls logward.
#
#   ./install.sh [--no-start] [--node PATH]   install, or upgrade in place
#   ./install.sh --uninstall [--purge]        remove (config, key, state and the
#                                             user kept unless --purge)
#   DESTDIR=/staging ./install.sh ...         into a staging root (see below)
#   ./install.sh --help
#
# Runs from a git checkout (compiles dist/ and installs the production
# dependencies with scripts/release.sh, which may use npm and the network) or
# from an unpacked release tarball (dist/ and production node_modules/ are
# there; no network is used).
#
# What it installs (all idempotent; an upgrade keeps config, key and state):
#   /opt/logward/releases/<version>/   the release (root:root); the previous one
#                                      is kept for rollback, older ones removed
#   /opt/logward/current -> releases/<version>
#   /opt/logward/bin/logward           wrapper: the absolute node path found and
#                                      checked at install time runs current/dist/cli.js
#   /usr/local/bin/logward -> ../../../opt/logward/bin/logward
#   user and group logward             system account, no home, no shell; member
#                                      of adm and systemd-journal when they exist
#   /etc/logward/ (0750 root:logward)
#   /etc/logward/logward.yaml          0640 root:logward, from examples/logward.yaml, only if absent
#   /etc/logward/hmac.key              0600 logward:logward, 32 random bytes as hex, only if absent
#   /var/lib/logward/                  0700 logward:logward, the state directory
#   /etc/systemd/system/logward.service   (always replaced: local changes belong
#                                      in a drop-in, `systemctl edit logward`)
# then `systemctl daemon-reload`, and unless --no-start `systemctl enable` and,
# when `logward check` accepts the config, `systemctl restart logward`.
#
# --uninstall removes the unit, /opt/logward and /usr/local/bin/logward. It
# keeps /etc/logward, /var/lib/logward and the logward user: the kept key and
# state are owned by that user, and deleting it would let the next system
# account created reuse its uid and own them. --purge removes those too.
#
# DESTDIR=/staging: everything goes under /staging and the system is not
# touched: no account is created, nothing is chowned, systemctl is not run.
# The owners and modes a real install would set are written to
# /staging/.logward-install-manifest, one line per path: `mode owner:group path`.
set -euo pipefail
umask 022

readonly OPT=/opt/logward
readonly BIN_LINK=/usr/local/bin/logward
readonly BIN_LINK_TARGET=../../../opt/logward/bin/logward
readonly ETC=/etc/logward
readonly STATE=/var/lib/logward
readonly UNIT=/etc/systemd/system/logward.service
readonly MANIFEST=.logward-install-manifest
readonly SERVICE_USER=logward
readonly MIN_NODE_MAJOR=20
readonly MIN_NODE_MINOR=19

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "Details: the comment at the top of $0"
}

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

no_start=
uninstall=
purge=
opt_node=
while [ $# -gt 0 ]; do
  case $1 in
    --no-start) no_start=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; opt_node=$2; shift 2 ;;
    --node=*) opt_node=${1#--node=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ -z "$purge" ] || [ -n "$uninstall" ] || die "--purge only goes with --uninstall"

staged=
dest=
work=
if [ -n "${DESTDIR:-}" ]; then
  [ "$DESTDIR" != / ] || die "DESTDIR=/ is the live system: unset DESTDIR to install for real"
  staged=1
fi

# Side effects start here, after the node check: a refused install leaves no trace.
prepare() {
  if [ -n "$staged" ]; then
    mkdir -p "$DESTDIR"
    dest=$(cd "$DESTDIR" && pwd)
  elif [ "$(id -u)" != 0 ]; then
    die "installing for real needs root (or set DESTDIR to stage into a directory)"
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/logward-install.XXXXXX")
  trap cleanup EXIT
}
cleanup() { rm -rf "$work"; }

# The path as installed on the system: under DESTDIR when staging.
p() { printf '%s%s' "$dest" "$1"; }

own() { # owner:group path — recorded in the manifest when staging
  [ -n "$staged" ] || chown "$1" "$2"
}

systemd_running() {
  [ -z "$staged" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# ---------------------------------------------------------------- node check

# Prints the absolute path of a node >= 20.19, or dies saying what is missing.
find_node() {
  local node=$opt_node version v major rest minor real
  if [ -z "$node" ]; then
    node=$(command -v node || true)
    [ -n "$node" ] || die "node $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer is required; no node found on PATH ($PATH). Install Node.js, or pass --node /path/to/node"
  fi
  case $node in
    /*) ;;
    */*) node=$(cd "$(dirname "$node")" && pwd)/$(basename "$node") ;;
    *) node=$(command -v "$node" || true); [ -n "$node" ] || die "--node: $opt_node not found" ;;
  esac
  if ! [ -f "$node" ] || ! [ -x "$node" ]; then
    die "node $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer is required; $node is not an executable file"
  fi
  # The path is written into the wrapper between single quotes.
  case $node in *[\'\"\\[:space:]]*) die "the node path $node contains a quote, a backslash or white space; pass --node with a plain path" ;; esac
  version=$("$node" -p process.version 2>/dev/null) || die "node $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer is required; $node does not run"
  v=${version#v}
  major=${v%%.*}
  rest=${v#*.}
  minor=${rest%%.*}
  if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]]; then
    die "node $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer is required; $node reports an unreadable version '$version'"
  fi
  if ((major < MIN_NODE_MAJOR || (major == MIN_NODE_MAJOR && minor < MIN_NODE_MINOR))); then
    die "node $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer is required; found $version at $node"
  fi
  # The unit sets ProtectHome=yes: a node under a home directory (nvm, fnm,
  # volta) is invisible to the service, which would fail at its first start.
  real=$(readlink -f "$node")
  case $real in
    /home/* | /root/* | /run/user/*)
      if [ -n "$staged" ]; then
        warn "$node ($real) is under a home directory, which the service cannot see (ProtectHome=yes)"
      else
        die "$node ($real) is under a home directory, which the service cannot see (ProtectHome=yes); install Node.js system-wide (e.g. /usr/bin/node) or pass --node PATH"
      fi
      ;;
  esac
  NODE=$node
  NODE_VERSION=$version
}

# ---------------------------------------------------------------- the payload

# Sets PAYLOAD to an unpacked release tree: this directory when it is one,
# otherwise one built from this checkout by scripts/release.sh.
find_payload() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [ -f "$here/.logward-release" ]; then
    if ! [ -f "$here/dist/cli.js" ] || ! [ -d "$here/node_modules" ]; then
      die "$here is an incomplete release tree (dist/cli.js or node_modules/ missing): unpack the tarball again"
    fi
    PAYLOAD=$here
    say "installing from the release tree $here (no network needed)"
  elif [ -f "$here/package.json" ] && [ -d "$here/src" ] && [ -f "$here/scripts/release.sh" ]; then
    say "installing from the checkout $here: building dist/ and production node_modules/"
    PAYLOAD=$(bash "$here/scripts/release.sh" --stage-dir "$work/stage") || die "scripts/release.sh failed"
  else
    die "$here is neither a logward checkout nor an unpacked release tarball"
  fi
  VERSION=$("$NODE" -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version)' "$PAYLOAD/package.json")
  case $VERSION in
    '' | *[!0-9A-Za-z.+-]*) die "$PAYLOAD/package.json has no usable version: '$VERSION'" ;;
  esac
}

# ---------------------------------------------------------------- install steps

install_release() {
  local releases rel tmp old previous r
  releases=$(p "$OPT/releases")
  mkdir -p "$releases"
  chmod 0755 "$(p "$OPT")" "$releases"
  own root:root "$(p "$OPT")"
  own root:root "$releases"
  rel=$releases/$VERSION
  tmp=$releases/.$VERSION.new
  old=$releases/.$VERSION.old
  rm -rf "$tmp" "$old"
  cp -R "$PAYLOAD" "$tmp"
  chmod -R u=rwX,go=rX "$tmp"
  [ -n "$staged" ] || chown -R -h root:root "$tmp"
  # Replace a release of the same version whole; a running agent keeps the
  # files it already loaded (Node resolves its modules through the real path).
  if [ -e "$rel" ]; then mv "$rel" "$old"; fi
  mv "$tmp" "$rel"
  rm -rf "$old"

  previous=
  if [ -L "$(p "$OPT/current")" ]; then previous=$(readlink "$(p "$OPT/current")"); fi
  ln -sfn "releases/$VERSION" "$(p "$OPT/.current.new")"
  mv -Tf "$(p "$OPT/.current.new")" "$(p "$OPT/current")"
  own root:root "$(p "$OPT/current")"
  if [ -n "$previous" ] && [ "$previous" != "releases/$VERSION" ]; then
    say "upgraded: ${previous#releases/} -> $VERSION (${previous#releases/} kept in $OPT/releases for rollback)"
  fi
  # Keep the current release and the one it replaced; remove older ones.
  for r in "$releases"/*; do
    [ -e "$r" ] || continue
    case ${r##*/} in
      "$VERSION" | "${previous#releases/}") ;;
      *) rm -rf "$r"; say "removed the old release ${r##*/}" ;;
    esac
  done
}

install_wrapper() {
  local bin wrapper
  bin=$(p "$OPT/bin")
  wrapper=$bin/logward
  mkdir -p "$bin"
  chmod 0755 "$bin"
  own root:root "$bin"
  # The node path is fixed here, where its version was checked: systemd's PATH
  # or a user's PATH could otherwise pick a different node. The wrapper finds
  # the release relative to itself, so a DESTDIR-staged copy runs too.
  cat >"$wrapper.new" <<EOF
#!/bin/sh
# The logward command, written by install.sh: runs the current release with the
# Node.js checked at install time ($NODE_VERSION). Another node: install.sh --node PATH.
# LOGWARD_NODE_ARGS: node/V8 flags, split on spaces (e.g. heap sizing from a
# systemd drop-in; README "Troubleshooting", memory).
here=\$(dirname "\$(readlink -f "\$0")")
# glibc malloc: two arenas, and blocks of 128 KiB or more (queue blocks, coalesced
# socket writes) mapped on their own and returned when freed. By default glibc
# raises that threshold after the first such free and keeps later blocks in a heap
# it rarely gives back. Measured shipping 1M lines: 15-27 MiB less peak RSS, the
# same CPU (BENCHMARKS.md). The environment (a systemd drop-in) can override both.
export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX-2}" MALLOC_MMAP_THRESHOLD_="\${MALLOC_MMAP_THRESHOLD_-131072}"
# shellcheck disable=SC2086
exec '$NODE' \${LOGWARD_NODE_ARGS-} "\$here/../current/dist/cli.js" "\$@"
EOF
  chmod 0755 "$wrapper.new"
  own root:root "$wrapper.new"
  mv -f "$wrapper.new" "$wrapper"

  local link
  link=$(p "$BIN_LINK")
  mkdir -p "$(dirname "$link")"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$BIN_LINK_TARGET" ]; then
    return 0
  fi
  if [ -L "$link" ] || [ -e "$link" ]; then
    case $(readlink "$link" 2>/dev/null || true) in
      *opt/logward/*) ;;
      *) die "$BIN_LINK exists and is not logward's wrapper: move it away, then run install.sh again" ;;
    esac
  fi
  ln -sfn "$BIN_LINK_TARGET" "$link"
}

ensure_user() {
  [ -z "$staged" ] || return 0
  local g groups="" nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/sbin/nologin
  [ -x "$nologin" ] || nologin=/bin/false
  for g in adm systemd-journal; do
    if getent group "$g" >/dev/null; then groups=${groups:+$groups,}$g; fi
  done
  if ! getent passwd "$SERVICE_USER" >/dev/null; then
    command -v useradd >/dev/null 2>&1 || die "useradd is required to create the $SERVICE_USER user"
    local group_opt=(--user-group)
    if getent group "$SERVICE_USER" >/dev/null; then group_opt=(--gid "$SERVICE_USER"); fi
    useradd --system --no-create-home --home-dir "$STATE" --shell "$nologin" \
      --comment "logward log shipping agent" "${group_opt[@]}" ${groups:+--groups "$groups"} "$SERVICE_USER"
    say "created the system user $SERVICE_USER${groups:+ (groups $groups)}"
  else
    for g in ${groups//,/ }; do
      if ! id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$g"; then
        usermod -a -G "$g" "$SERVICE_USER"
        say "added $SERVICE_USER to the group $g"
      fi
    done
  fi
}

install_config() {
  local etc cfg key hex
  etc=$(p "$ETC")
  cfg=$etc/logward.yaml
  key=$etc/hmac.key
  mkdir -p "$etc"
  chmod 0750 "$etc"
  own "root:$SERVICE_USER" "$etc"
  if [ -e "$cfg" ] || [ -L "$cfg" ]; then
    say "kept the existing $ETC/logward.yaml"
  else
    cp "$PAYLOAD/examples/logward.yaml" "$cfg.new"
    chmod 0640 "$cfg.new"
    own "root:$SERVICE_USER" "$cfg.new"
    mv "$cfg.new" "$cfg"
    say "created $ETC/logward.yaml from the example: edit inputs and output.destination"
  fi
  if [ -e "$key" ] || [ -L "$key" ]; then
    say "kept the existing $ETC/hmac.key"
  else
    hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
    [ ${#hex} = 64 ] || die "could not read 32 random bytes from /dev/urandom"
    # umask 077 from creation on: there is no moment the key is readable by others.
    (umask 077 && printf '%s\n' "$hex" >"$key.new")
    chmod 0600 "$key.new"
    own "$SERVICE_USER:$SERVICE_USER" "$key.new"
    mv "$key.new" "$key"
    say "generated the HMAC key $ETC/hmac.key (logward verify --key needs a copy of it)"
  fi
}

install_state() {
  local state
  state=$(p "$STATE")
  mkdir -p "$state"
  chmod 0700 "$state"
  own "$SERVICE_USER:$SERVICE_USER" "$state"
}

install_unit() {
  local unit
  unit=$(p "$UNIT")
  mkdir -p "$(dirname "$unit")"
  cp "$PAYLOAD/systemd/logward.service" "$unit.new"
  chmod 0644 "$unit.new"
  own root:root "$unit.new"
  mv -f "$unit.new" "$unit"
}

start_service() {
  if [ -n "$staged" ]; then
    say "staged into $dest: systemctl not run; owners are in $dest/$MANIFEST"
    return 0
  fi
  if ! systemd_running; then
    say "systemd is not running on this host: skipped systemctl daemon-reload, enable and start."
    say "run the agent another way, as the user $SERVICE_USER: $BIN_LINK run -c $ETC/logward.yaml"
    return 0
  fi
  systemctl daemon-reload
  if [ -n "$no_start" ]; then
    say "--no-start: logward.service not enabled or started; when ready: systemctl enable --now logward"
    return 0
  fi
  systemctl enable logward.service
  if "$OPT/bin/logward" check -c "$ETC/logward.yaml" --as-user "$SERVICE_USER"; then
    systemctl restart logward.service
    say "logward.service enabled and (re)started: systemctl status logward"
  else
    say "logward.service enabled but NOT started: $ETC/logward.yaml is not valid yet (problems above)."
    say "edit it, check it with: logward check -c $ETC/logward.yaml --as-user $SERVICE_USER; then: systemctl restart logward"
  fi
}

# ---------------------------------------------------------------- manifest

manifest_line() { # path owner
  local f
  f=$(p "$1")
  if [ -e "$f" ] || [ -L "$f" ]; then
    printf '%s %s %s\n' "$(stat -c '%04a' "$f")" "$2" "$1"
  fi
}

write_manifest() {
  [ -n "$staged" ] || return 0
  local body r
  body=$(
    manifest_line "$OPT" root:root
    manifest_line "$OPT/bin" root:root
    manifest_line "$OPT/bin/logward" root:root
    manifest_line "$OPT/current" root:root
    manifest_line "$OPT/releases" root:root
    for r in "$(p "$OPT/releases")"/*; do
      if [ -e "$r" ]; then manifest_line "$OPT/releases/${r##*/}" root:root; fi
    done
    manifest_line "$BIN_LINK" root:root
    manifest_line "$UNIT" root:root
    manifest_line "$ETC" "root:$SERVICE_USER"
    manifest_line "$ETC/logward.yaml" "root:$SERVICE_USER"
    manifest_line "$ETC/hmac.key" "$SERVICE_USER:$SERVICE_USER"
    manifest_line "$STATE" "$SERVICE_USER:$SERVICE_USER"
  )
  if [ -z "$body" ]; then
    rm -f "$dest/$MANIFEST"
    return 0
  fi
  {
    echo "# logward install manifest (DESTDIR staging): mode owner:group path, as a real install sets them."
    echo "# Inside $OPT/releases/<version>/ everything is root:root: directories and executables 0755, other files 0644."
    echo "# A real install also creates the system user and group $SERVICE_USER (groups adm, systemd-journal)."
    printf '%s\n' "$body" | LC_ALL=C sort -k3
  } >"$dest/$MANIFEST.new"
  mv -f "$dest/$MANIFEST.new" "$dest/$MANIFEST"
}

# ---------------------------------------------------------------- uninstall

do_uninstall() {
  local link d
  if systemd_running; then
    if [ -e "$UNIT" ]; then
      systemctl disable --now logward.service || warn "systemctl disable --now logward failed; removing the unit anyway"
    fi
  elif [ -z "$staged" ]; then
    say "systemd is not running on this host: no service to stop"
  fi
  rm -f "$(p "$UNIT")"
  if systemd_running; then systemctl daemon-reload; fi

  link=$(p "$BIN_LINK")
  if [ -L "$link" ]; then
    case $(readlink "$link") in
      *opt/logward/*) rm -f "$link" ;;
      *) warn "$BIN_LINK is not logward's wrapper: left in place" ;;
    esac
  fi
  rm -rf "$(p "$OPT")"
  say "removed $OPT, $BIN_LINK and $UNIT"

  if [ -n "$purge" ]; then
    rm -rf "$(p "$ETC")" "$(p "$STATE")"
    say "purged $ETC (config and keys) and $STATE (state)"
    if [ -z "$staged" ] && getent passwd "$SERVICE_USER" >/dev/null; then
      userdel "$SERVICE_USER"
      if getent group "$SERVICE_USER" >/dev/null; then groupdel "$SERVICE_USER" 2>/dev/null || true; fi
      say "removed the user $SERVICE_USER"
    fi
  else
    say "kept $ETC (config and keys), $STATE (state) and the user $SERVICE_USER: --uninstall --purge removes them"
  fi

  if [ -n "$staged" ]; then
    write_manifest
    # Leave the staging root as clean as it was: drop directories that only
    # the install created and that are empty now.
    for d in /usr/local/bin /usr/local /usr /etc/systemd/system /etc/systemd /etc /var/lib /var /opt; do
      rmdir "$(p "$d")" 2>/dev/null || true
    done
  fi
}

# ---------------------------------------------------------------- main

if [ -n "$uninstall" ]; then
  prepare
  do_uninstall
  exit 0
fi

find_node
prepare
find_payload
say "logward $VERSION with node $NODE_VERSION ($NODE)"
ensure_user
install_release
install_wrapper
install_config
install_state
install_unit
write_manifest
start_service
say "done: logward $VERSION installed"
