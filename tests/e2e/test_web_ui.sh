#!/usr/bin/env bash
# The web UI served by nexapi, in a real browser: Debian's headless chromium
# driven by playwright-core (tests/web, pinned in package-lock.json) against
# a real nexapi that the test starts on 127.0.0.1 with a temporary database.
# Artifacts: build/web/devices.png, devices-phone.png, nexapi.log.
#
#   BUILD=build/<tag> bash tests/e2e/test_web_ui.sh
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) nexapi=$BUILD/nexapi ;; *) nexapi=$ROOT/$BUILD/nexapi ;; esac

fail() { echo "test_web_ui: $*" >&2; exit 1; }

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (scripts/deps.sh installs the chromium package)"
command -v node >/dev/null || fail "node is missing (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || fail "npm is missing (scripts/deps.sh installs npm)"
[ -x "$nexapi" ] || fail "no nexapi at $nexapi (make BUILD=$BUILD)"

cd "$ROOT/tests/web"
# The pinned packages, from the lock file, unless already there.
if ! npm ls --silent playwright-core >/dev/null 2>&1; then
	echo "+ npm ci (tests/web)"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

echo "+ node ui.test.mjs (nexapi: $nexapi)"
# Run the file directly (not through `node --test`, which forks) so that a
# timeout's signal reaches the process that owns nexapi and the browser.
set +e
NEXAPI=$nexapi timeout --kill-after=5 85 node --test-reporter=spec ui.test.mjs
rc=$?
set -e
[ -f "$ROOT/build/web/devices.png" ] && echo "screenshot: $ROOT/build/web/devices.png"
exit $rc
