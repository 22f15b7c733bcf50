#!/usr/bin/env bash
# The man pages (man/): they render without a warning, and each documents
# every option its program's --help lists and prints the one version string.
set -eEuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
fail() { printf 'FAIL: %s\n' "$*" >&2; echo "FAIL (exit 1)"; exit 1; }
version=$("$B/nexd" --version | awk '{ print $2 }')
for page in nexd.8 nexapi.8 nexctl.1 nexwg.8; do
	prog=${page%.*}
	f=$ROOT/man/$page
	warn=$(LC_ALL=C groff -t -man -ww -z "$f" 2>&1) || fail "$page: groff failed: $warn"
	[ -z "$warn" ] || fail "$page: groff warns: $warn"
	grep -q "nexodus-c $version" "$f" || fail "$page: not version $version"
	# every long option of --help (the rotate and router forms included)
	for opt in $("$B/$prog" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | grep -vx -- --help | sort -u); do
		roff=${opt//-/\\-}
		grep -qF -- "$roff" "$f" || fail "$page does not document $opt"
	done
	printf '    ok: %s renders cleanly and documents every option of %s --help\n' "$page" "$prog" >&2
done
echo PASS
