#!/usr/bin/env bash
# Unpacks the Mercurials of Debian 13 (trixie) and Debian unstable (sid) into
# .cache/mercurials/VERSION/, so that the WSGI script's tests run on every
# Mercurial our users run (Debian 12's 6.3.2 is the system's own). Only
# mercurial-common is taken: it holds all of Mercurial's Python, which runs on
# Debian 12's python3 with HGMODULEPOLICY=py (the C extensions of those suites
# are built for their newer Pythons).
#
# apt-get reads a private source list and keeps its lists and cache in a
# temporary folder: the system's apt sources and state are left alone. The
# Release files are checked with Debian 12's debian-archive-keyring: both
# suites are signed with the bookworm archive key as well as the trixie ones
# (checked in November 2026). Idempotent: a version already unpacked is
# skipped, so a machine that has them all needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package versions, pinned so that every machine tests the same code;
# test/helpers/mercurials.ts names the same ones.
declare -A SUITE_OF=([7.0.1-2]=trixie [7.2.4-2]=sid)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
DEST=.cache/mercurials

missing=()
for version in "${!SUITE_OF[@]}"; do
  [[ -f $DEST/${version%-*}/usr/lib/python3/dist-packages/mercurial/__version__.py ]] || missing+=("$version")
done
((${#missing[@]})) || exit 0

# The archive this machine's apt already uses (never a host written here).
MIRROR=$(scripts/debian-archive.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt downloads as the unprivileged _apt user when run as root: it must be able to write there.
chmod 0755 "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
if [[ $(id -u) == 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$work/debs"; fi
for suite in $(printf '%s\n' "${SUITE_OF[@]}" | sort -u); do
  echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
done >"$work/sources.list"
apt=(apt-get -q
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Acquire::Languages=none)

echo "fetching mercurial-common ${missing[*]} from $MIRROR (the archive apt's sources name)"
"${apt[@]}" update >/dev/null
for version in "${missing[@]}"; do
  suite=${SUITE_OF[$version]}
  if ! (cd "$work/debs" && "${apt[@]}" download "mercurial-common=$version" >/dev/null); then
    echo "fetch-mercurials: Debian $suite no longer has mercurial-common $version." >&2
    echo "  Pin the version it has now (Debian's package tracker lists it) here and in" >&2
    echo "  test/helpers/mercurials.ts." >&2
    exit 1
  fi
  upstream=${version%-*}
  # Unpacked beside the final folder and renamed into place: an interrupted run leaves no half folder behind.
  rm -rf "$DEST/.partial-$upstream"
  mkdir -p "$DEST/.partial-$upstream"
  dpkg-deb -x "$work/debs/mercurial-common_${version}_all.deb" "$DEST/.partial-$upstream"
  rm -rf "${DEST:?}/$upstream"
  mv "$DEST/.partial-$upstream" "$DEST/$upstream"
  echo "unpacked Mercurial $upstream (Debian $suite) into $DEST/$upstream"
done
