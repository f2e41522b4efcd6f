#!/usr/bin/env bash
# Installs the bench's peer when missing: Debian's ejabberd (23.01 on bookworm) and its SQLite driver, which the
# package only suggests. The bench runs its own instance on loopback; the package's system service must not run, so
# no service starts during the install (a policy-rc.d that denies starts, as in Docker images) and, where systemd is
# present, the unit the package enables is disabled and stopped. Quiet unless something fails; exit 1 then.
set -uo pipefail
packages=(ejabberd erlang-p1-sqlite3)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
(( ${#missing[@]} == 0 )) && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "ejabberd/install.sh: ${missing[*]} missing; run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# ImFunctions bench: no service starts while ejabberd installs\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; }
apt install -y -q "${missing[@]}" >/dev/null 2>&1 \
  || { apt update -q >/dev/null 2>&1 && apt install -y -q "${missing[@]}" >/dev/null; } \
  || { echo "ejabberd/install.sh: could not install ${missing[*]}" >&2; exit 1; }
if [[ " ${missing[*]} " == *" ejabberd "* ]] && [[ -d /run/systemd/system ]]; then
  systemctl disable --now ejabberd >/dev/null 2>&1 || true
fi
exit 0
