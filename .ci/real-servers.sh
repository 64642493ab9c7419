#!/usr/bin/env bash
# Installs what the real-server end-to-end tests (test/servers/, test/support/real-servers.ts)
# need: popa3d, GNU mailutils pop3d and Courier POP3 from Debian's packages.
#
# Those packages conflict with the installed dovecot-pop3d (they all Provide/Conflict
# pop3-server), so they are NOT installed: they are `apt-get download`ed and unpacked
# with `dpkg-deb -x` into $PINCHMAIL_SERVERS_DIR/root/<package>. Only their dependencies,
# which do not conflict, are apt-installed. No server is started here: each test starts
# its own on a free loopback port (compiled-in paths are redirected with `unshare -m`).
#
# Idempotent; when everything is already in place it returns at once (a marker file).
set -euo pipefail

DIR="${PINCHMAIL_SERVERS_DIR:-/var/cache/pinchmail-servers}"
# Bump when the list below changes, so machines that ran an older version redo the work.
VERSION=1
MARKER="$DIR/.installed-v$VERSION"

# Downloaded and unpacked, never installed.
SERVER_PKGS=(popa3d mailutils-pop3d courier-pop)
# Their dependencies (and the tools the harness uses), installed normally.
DEPS=(
  socat
  # popa3d: libc6 libpam0g (already there on any Debian)
  # mailutils-pop3d
  mailutils-common libmailutils9 libmu-dbm9 libgsasl18 libkyotocabinet16v5 libgdbm6 libdb5.3
  libldap-2.5-0 libnsl2 libunistring2 libwrap0 libgnutls30 libcrypt1 netbase
  # courier-pop (couriertcpd and courierlogger come from courier-base; authdaemond and
  # userdb/makeuserdb from courier-authlib*)
  courier-base courier-authlib courier-authdaemon courier-authlib-userdb libcourier-unicode4 libidn12
)
# System users: popa3d drops privileges to "popa3d"; the mbox servers log in real
# (PAM / shadow) users. Courier uses its own userdb, so it needs none.
POP_USERS=(pmpopa pmmu)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

missing_deps() {
  local p
  for p in "${DEPS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

all_in_place() {
  [ -f "$MARKER" ] || return 1
  [ -z "$(missing_deps)" ] || return 1
  local p u
  for p in "${SERVER_PKGS[@]}"; do [ -d "$DIR/root/$p/usr" ] || return 1; done
  for u in popa3d "${POP_USERS[@]}"; do getent passwd "$u" >/dev/null || return 1; done
  [ -d /var/lib/popa3d ] || return 1
  return 0
}

if all_in_place; then
  echo "real-servers: already in place in $DIR"
  exit 0
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive

mapfile -t need < <(missing_deps)
if [ ${#need[@]} -gt 0 ]; then
  echo "real-servers: installing ${need[*]}"
  # Installing courier-authdaemon must not start a system-wide authdaemond: the tests run
  # their own. Keep services from starting unless the machine already has a policy.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  # The package lists may be stale or absent on a fresh machine: refresh once if needed.
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" \
    || { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"; }
  [ "$made_policy" -eq 0 ] || "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
fi

"${sudo[@]}" mkdir -p "$DIR/debs" "$DIR/root"
for p in "${SERVER_PKGS[@]}"; do
  [ -d "$DIR/root/$p/usr" ] && continue
  echo "real-servers: downloading and unpacking $p"
  rm -f "$DIR/debs/${p}_"*.deb
  # (As root, apt warns that the download is unsandboxed: harmless.)
  (cd "$DIR/debs" && { "${sudo[@]}" apt-get download -q "$p" \
    || { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get download -q "$p"; }; })
  deb=$(ls "$DIR/debs/${p}_"*.deb)
  # Unpack beside, then rename: an interrupted run never leaves a half tree that looks done.
  "${sudo[@]}" rm -rf "$DIR/root/$p.tmp"
  "${sudo[@]}" mkdir -p "$DIR/root/$p.tmp"
  "${sudo[@]}" dpkg-deb -x "$deb" "$DIR/root/$p.tmp"
  "${sudo[@]}" rm -rf "$DIR/root/$p"
  "${sudo[@]}" mv "$DIR/root/$p.tmp" "$DIR/root/$p"
done
# Servers running as other users (popa3d, courier) must be able to reach the binaries.
"${sudo[@]}" chmod 755 "$DIR" "$DIR/root"

# Every binary must find its libraries: a missing dependency is a failure here, not a
# mysterious exit in a test.
bad=0
for bin in "$DIR/root/popa3d/usr/sbin/popa3d" "$DIR/root/mailutils-pop3d/usr/sbin/pop3d" \
  "$DIR/root/courier-pop/usr/lib/courier/courier/courierpop3d" \
  "$DIR/root/courier-pop/usr/lib/courier/courier/courierpop3login"; do
  if [ ! -x "$bin" ]; then echo "real-servers: $bin is missing" >&2; bad=1; continue; fi
  if ldd "$bin" | grep 'not found' >&2; then echo "real-servers: $bin lacks libraries" >&2; bad=1; fi
done
[ "$bad" -eq 0 ] || exit 1

# popa3d switches to this user and chroots into its (empty) home.
getent passwd popa3d >/dev/null \
  || "${sudo[@]}" useradd -r -M -d /var/lib/popa3d -s /usr/sbin/nologin popa3d
"${sudo[@]}" mkdir -p /var/lib/popa3d
"${sudo[@]}" chmod 755 /var/lib/popa3d
# The test users: passwords are fixed (the harness knows them); no real home.
for u in "${POP_USERS[@]}"; do
  getent passwd "$u" >/dev/null || "${sudo[@]}" useradd -M -d /nonexistent -s /usr/sbin/nologin "$u"
  echo "$u:${u}-pw" | "${sudo[@]}" chpasswd
done

"${sudo[@]}" touch "$MARKER"
echo "real-servers: ready in $DIR ($(($(date +%s) - start))s)"
