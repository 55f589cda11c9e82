#!/bin/sh
# Runs every fuzz target of the module for FUZZTIME (default 30s) each; stops at the first
# failure, which go test reports with the input it saved under the package's testdata/fuzz.
set -eu
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
found=0
for pkg in $("$GO" list ./...); do
	for target in $("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=$((found + 1))
		echo "== $pkg $target ($FUZZTIME)"
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
echo "fuzz: $found targets ran for $FUZZTIME each"
