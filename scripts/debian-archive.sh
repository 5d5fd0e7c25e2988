#!/usr/bin/env bash
# Prints the URI of the Debian archive that this machine's apt reads its own
# release from, as apt itself would find it: deb822 files in
# /etc/apt/sources.list.d/*.sources (Types: deb, URIs:, Suites:), then
# one-line entries in /etc/apt/sources.list and sources.list.d/*.list. The
# entry whose suites name this release's codename (from /etc/os-release) wins,
# so that a security or backports archive is never taken for the main one.
# Exits 1, saying why, when apt names none.
set -euo pipefail

# APT_DIR: another apt configuration folder (for a check of this script).
apt=${APT_DIR:-/etc/apt}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $codename ]] || { echo "debian-archive: /etc/os-release names no VERSION_CODENAME" >&2; exit 1; }

shopt -s nullglob
uri=$(
  {
    # deb822: paragraphs separated by blank lines; a field's value may continue on indented lines (not for these three).
    for f in "$apt"/sources.list.d/*.sources; do
      awk -v RS= -F '\n' '
        {
          types = ""; uris = ""; suites = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            line = $i
            if (line ~ /^#/) continue
            split(line, kv, ":")
            key = tolower(kv[1]); value = substr(line, length(kv[1]) + 2)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            if (key == "types") types = value
            else if (key == "uris") uris = value
            else if (key == "suites") suites = value
            else if (key == "enabled") enabled = tolower(value)
          }
          if (enabled == "no" || (" " types " ") !~ / deb /) next
          n = split(uris, u, /[ \t]+/)
          for (j = 1; j <= n; j++) print u[j] "\t" suites
        }' "$f"
    done
    # One-line style: deb [options] URI suite component...
    for f in "$apt"/sources.list "$apt"/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2\t\3/p' "$f"
    done
  } | awk -F '\t' -v codename="$codename" '
    { n = split($2, s, /[ \t]+/); for (i = 1; i <= n; i++) if (s[i] == codename) { print $1; exit } }'
)
if [[ -z $uri ]]; then
  echo "debian-archive: no apt source for $codename in $apt/sources.list or $apt/sources.list.d/" >&2
  exit 1
fi
echo "${uri%/}"
