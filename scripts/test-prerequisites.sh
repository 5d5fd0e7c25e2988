#!/usr/bin/env bash
# Installs the Debian packages the tests need when any is missing, before
# `npm test` runs them: the tests compare hgreload with Mercurial's own code
# and run it against a real Apache, gunicorn, sshd, FUSE mounts and systemd
# tools. As root it installs them with apt-get; otherwise with sudo when sudo
# needs no password; else it stops at once with the one line to run, rather
# than let hundreds of tests fail.
set -euo pipefail

# Each package, and the file whose presence shows it is installed (so that a
# machine that has them all runs no apt at all, and needs no network).
declare -A SHOWN_BY=(
  [mercurial]=/usr/lib/python3/dist-packages/mercurial/__init__.py
  [apache2]=/usr/sbin/apache2
  [libapache2-mod-wsgi-py3]=/usr/lib/apache2/modules/mod_wsgi.so
  [gunicorn]=/usr/bin/gunicorn
  # systemd-analyze checks the units.
  [systemd]=/usr/bin/systemd-analyze
  # sshd for the deployment test (it brings ssh, and adduser, which the README runs; apache2 brings htpasswd).
  [openssh-server]=/usr/sbin/sshd
  # bindfs mounts one folder twice, as two hosts mount one export (the shared-storage tests).
  [bindfs]=/usr/bin/bindfs
  # promtool checks the metrics file the daemon writes and the README's alert rule.
  [prometheus]=/usr/bin/promtool
  # scripts/fetch-mercurials.sh and scripts/nspawn-root.sh check Debian's Release files with it.
  [debian-archive-keyring]=/usr/share/keyrings/debian-archive-keyring.gpg
  # The real-systemd test makes a Debian 12 root (scripts/nspawn-root.sh) and boots it.
  [debootstrap]=/usr/sbin/debootstrap
  [systemd-container]=/usr/bin/systemd-nspawn
  # Several hosts share changes through PostgreSQL: the cluster tests initdb a server of their own.
  # The metapackage ships no program; its copyright file survives images that drop the other docs.
  [postgresql]=/usr/share/doc/postgresql/copyright
)
# Installed without what they recommend: systemd-container's libnss-mymachines would edit the
# host's /etc/nsswitch.conf.
declare -A BARE=([debootstrap]=1 [systemd-container]=1)

need=()
for package in "${!SHOWN_BY[@]}"; do
  [[ -e ${SHOWN_BY[$package]} ]] || need+=("$package")
done
((${#need[@]})) || exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort)

if [[ $(id -u) == 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "The tests need Debian packages that are not installed, and installing them needs root. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing the Debian packages the tests need: ${need[*]}"
# Another apt at work (an unattended upgrade) holds the lock for a while: wait for it rather than fail.
apt=(apt-get -q -o DPkg::Lock::Timeout=300)
"${sudo[@]}" "${apt[@]}" update
install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "$@"; }
usual=() bare=()
for package in "${need[@]}"; do
  if [[ -n ${BARE[$package]:-} ]]; then bare+=("$package"); else usual+=("$package"); fi
done
((${#usual[@]} == 0)) || install "${usual[@]}"
((${#bare[@]} == 0)) || install --no-install-recommends "${bare[@]}"
