#!/usr/bin/env bash
# Prepares, once, a Debian 12 root folder that boots under systemd-nspawn, for
# test/systemd/real-systemd.test.ts (which runs the README's "Running it as a
# service" in it, under real systemd): debootstrap's minbase with systemd,
# Mercurial, Apache + mod_wsgi and OpenSSH from Debian's archive (the one apt's
# own sources name), and this machine's own Node.js copied in (nothing
# downloaded for it). The folder is kept in
#
#   .cache/nspawn/bookworm-HASH/
#
# where HASH is a short hash of this script's text (its package list and every
# step below) and of the Node copied in, so that a change to either makes a new
# folder. It is made in bookworm-HASH.partial/ and renamed into place when
# complete: an interrupted run leaves no half-made root behind (the next run
# starts the .partial afresh). Two runs at once wait for each other (flock).
# Older bookworm-* folders are left alone: remove them with rm -rf.
#
# Prints the folder's path as the last line of stdout. Exit status: 0 ready;
# 77 it cannot be made on this machine (not root, a tool missing, Debian's
# archive out of reach), the reason on stderr's last line; 1 anything else.
# Needs, on the host: debootstrap, debian-archive-keyring (Debian packages).
set -euo pipefail
script=$(readlink -f "$0")
cd "$(dirname "$script")/.."

SUITE=bookworm
# What the test runs inside: systemd as init, the README's commands (adduser, npm through
# Node), hgweb under Apache + mod_wsgi, pushes over SSH, python3 for the test's HTTP requests.
# libstdc++6 and libgcc-s1 are what a Node binary links besides libc.
PACKAGES=(systemd systemd-sysv dbus mercurial apache2 libapache2-mod-wsgi-py3 openssh-server
  openssh-client adduser ca-certificates python3 libstdc++6 libgcc-s1)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE=.cache/nspawn

cannot() {
  echo "nspawn-root: $*" >&2
  exit 77
}

[[ $(id -u) == 0 ]] || cannot "must run as root (debootstrap, and systemd-nspawn to boot it)"
command -v debootstrap >/dev/null || cannot "debootstrap is not installed (apt-get install debootstrap)"
command -v flock >/dev/null || cannot "flock is not installed (util-linux)"
[[ -f $KEYRING ]] || cannot "$KEYRING is missing (apt-get install debian-archive-keyring): the archive's signatures cannot be checked"
node=$(command -v node) || cannot "node is not on the PATH"
node=$(readlink -f "$node")

# The Debian archive apt uses (scripts/debian-archive.sh reads apt's sources as apt does);
# HGRELOAD_NSPAWN_ARCHIVE overrides it.
archive=${HGRELOAD_NSPAWN_ARCHIVE:-$("$(dirname "$0")/debian-archive.sh" 2>/dev/null || true)}
[[ -n $archive ]] || cannot "apt's sources name no '$SUITE main' archive to debootstrap from (set HGRELOAD_NSPAWN_ARCHIVE)"
# apt's proxy, if it has one, is debootstrap's (wget reads http_proxy).
eval "$(apt-config shell APT_HTTP_PROXY Acquire::http::Proxy)"
if [[ -n ${APT_HTTP_PROXY:-} && -z ${http_proxy:-} ]]; then export http_proxy=$APT_HTTP_PROXY; fi

# Node goes in as this machine has it: the files of its Debian package, else its install prefix.
node_package=$(dpkg-query -S "$node" 2>/dev/null | head -n 1) || node_package=
node_package=${node_package%%: *}
node_prefix=$(dirname "$(dirname "$node")")
if [[ -n $node_package ]]; then
  node_from="Debian package $node_package $(dpkg-query -W -f='${Version}' "$node_package")"
else
  node_from="prefix $node_prefix"
fi
node_id="$node_from, node $("$node" --version), npm $(PATH="$(dirname "$node"):$PATH" npm --version 2>/dev/null || echo none)"

hash=$( (cat "$script" && echo "$node_id") | sha256sum | cut -c1-12)
root=$CACHE/$SUITE-$hash
mkdir -p "$CACHE"
exec 9>"$root.lock"
flock 9
if [[ -f $root/etc/hgreload-nspawn-root ]]; then
  realpath "$root"
  exit 0
fi

partial=$root.partial
# debootstrap mounts /proc and /sys in the root it makes (and may bind /dev): an interrupted run
# can leave them mounted there. They are unmounted first, and rm never crosses into a mount.
remove_partial() {
  [[ -e $partial ]] || return 0
  local below
  below=$(realpath "$partial")/
  awk -v below="$below" '{ gsub(/\\040/, " ", $5) } index($5 "/", below) == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while IFS= read -r mount; do umount -l "$mount" || true; done
  rm -rf --one-file-system "$partial"
}
remove_partial
trap remove_partial EXIT
mkdir -p "$partial"
log=$root.log
echo "nspawn-root: preparing $root (debootstrap $SUITE from $archive, then Node: $node_id); log in $log" >&2
# The archive must answer before debootstrap's long run: a machine without it skips, it does not fail.
wget -q -T 20 -t 2 -O /dev/null "$archive/dists/$SUITE/Release" || cannot "Debian's archive $archive does not answer (wget $archive/dists/$SUITE/Release failed)"
include=$(
  IFS=,
  echo "${PACKAGES[*]}"
)
if ! debootstrap --variant=minbase --keyring="$KEYRING" --include="$include" "$SUITE" "$partial" "$archive" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "nspawn-root: debootstrap failed (log: $log)" >&2
  exit 1
fi

# Node: the package's files (its folders are made as the files need them). npm updates itself
# in place (npm install -g npm), after which the package's list names files that are gone and
# lacks new ones: each module folder of its lib/node_modules is copied as it is now.
if [[ -n $node_package ]]; then
  modules=$node_prefix/lib/node_modules
  dpkg-query -L "$node_package" | while IFS= read -r path; do
    case $path in
    "$modules"/*) ;;
    *) [[ -e $path || -L $path ]] && [[ ! -d $path || -L $path ]] && printf '%s\n' "${path#/}" ;;
    esac
  done | tar -C / --no-recursion -cf - -T - | tar -C "$partial" -xpf -
  dpkg-query -L "$node_package" | sed -n "s|^$modules/\\(@[^/]*/[^/]*\\)\$|\\1|p; s|^$modules/\\([^@/][^/]*\\)\$|\\1|p" | sort -u |
    while IFS= read -r module; do
      [[ -d $modules/$module ]] || continue
      mkdir -p "$partial$modules/$(dirname "$module")"
      cp -a "$modules/$module" "$partial$modules/$(dirname "$module")/"
    done
else
  mkdir -p "$partial$node_prefix"
  cp -a "$node_prefix/." "$partial$node_prefix/"
  if [[ $node_prefix != /usr && $node_prefix != /usr/local ]]; then
    for program in node npm npx; do
      [[ -e $node_prefix/bin/$program ]] && ln -sf "$node_prefix/bin/$program" "$partial/usr/local/bin/$program"
    done
  fi
fi

# Each boot makes its own machine id (an empty file: systemd takes the container's id), the
# hostname resolves (Apache asks), no package cache or lists are kept (nothing is installed later).
: >"$partial/etc/machine-id"
echo hgreload-nspawn >"$partial/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\thgreload-nspawn\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$partial/etc/hosts"
chroot "$partial" apt-get clean
rm -rf "$partial"/var/lib/apt/lists/*

check() {
  if ! out=$(chroot "$partial" env -i PATH=/usr/local/bin:/usr/bin:/bin "$@" 2>&1); then
    echo "nspawn-root: in the new root, $* failed: $out" >&2
    exit 1
  fi
}
check node --version
check npm --version
check python3 -c 'import mercurial'
check test -f /usr/lib/apache2/modules/mod_wsgi.so
check test -x /usr/sbin/sshd
check test -x /lib/systemd/systemd

printf 'made by scripts/nspawn-root.sh (hash %s) on %s\narchive: %s\nnode: %s\n' "$hash" "$(date -u +%FT%TZ)" "$archive" "$node_id" >"$partial/etc/hgreload-nspawn-root"
mv "$partial" "$root"
trap - EXIT
realpath "$root"
