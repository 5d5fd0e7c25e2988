#!/usr/bin/env bash
# A newcomer's set-up, checked apart from the test suite: a fresh clone of
# this checkout's HEAD, with HOME and npm's cache pointed at new empty folders
# (so nothing an earlier install left behind can help), then exactly the
# README's commands. Passes when `npm install` and `npm test` succeed with 0
# failed, 0 cancelled and 0 skipped, and `npm start`, on a second fresh clone
# where nothing was installed, shows the demo's new repository.
#
# Usage: scripts/fresh-clone-check.sh [--keep]   (--keep: leave the folder for a look)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
keep=false
[[ ${1:-} == --keep ]] && keep=true

work=$(mktemp -d /tmp/hgreload-fresh.XXXXXX)
demo_pid=
cleanup() {
  [[ -n $demo_pid ]] && kill -TERM -- "-$demo_pid" 2>/dev/null || true
  if $keep; then echo "left in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir "$work/home" "$work/npm-cache"
export HOME=$work/home npm_config_cache=$work/npm-cache
fail() { echo "fresh-clone-check: FAILED: $*" >&2; exit 1; }

git clone -q "$here" "$work/hgreload"
cd "$work/hgreload"
echo "fresh-clone-check: $(git log -1 --format='%h %s') in $work/hgreload, HOME=$HOME, npm cache $npm_config_cache"

echo "fresh-clone-check: npm install"
npm install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; fail "npm install (log: $work/install.log)"; }
echo "fresh-clone-check: npm test (log: $work/test.log)"
status=0
npm test >"$work/test.log" 2>&1 || status=$?
# node's test runner closes with "# fail N", "# cancelled N", "# skipped N" lines ("ℹ ..." on a terminal).
count() { sed -n -E "s/^(#|ℹ) $1 ([0-9]+)$/\2/p" "$work/test.log" | tail -1; }
tests=$(count tests) failed=$(count fail) cancelled=$(count cancelled) skipped=$(count skipped)
echo "fresh-clone-check: npm test exited $status: ${tests:-?} tests, ${failed:-?} failed, ${cancelled:-?} cancelled, ${skipped:-?} skipped"
[[ $status == 0 && $failed == 0 && $cancelled == 0 && $skipped == 0 && ${tests:-0} -gt 0 ]] || {
  grep -n "^not ok\|# Subtest\|failureType\|error:" "$work/test.log" | head -40 >&2
  fail "npm test (log: $work/test.log)"
}

echo "fresh-clone-check: npm start on a second fresh clone, nothing installed"
git clone -q "$here" "$work/demo-clone"
cd "$work/demo-clone"
# Its own process group, so that the whole of npm start stops at the end.
setsid npm start >"$work/start.log" 2>&1 &
demo_pid=$!
wait_for() { # PATTERN SECONDS
  local deadline=$((SECONDS + $2))
  until grep -q "$1" "$work/start.log"; do
    ((SECONDS < deadline)) || { tail -30 "$work/start.log" >&2; fail "npm start: no line matching $1 within $2 s"; }
    kill -0 "$demo_pid" 2>/dev/null || { tail -30 "$work/start.log" >&2; fail "npm start exited"; }
    sleep 0.2
  done
}
wait_for '"msg":"ready"' 300
hg init demo/repos/new-repo
wait_for '"msg":"reloaded.*new-repo\|new-repo.*"msg":"reloaded' 10
echo "fresh-clone-check: the demo showed demo/repos/new-repo"
echo "fresh-clone-check: passed"
