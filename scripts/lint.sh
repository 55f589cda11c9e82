#!/bin/sh
# make lint, and CI: every check a reviewer runs — go vet, gofmt, staticcheck and golangci-lint
# (both pinned by go.mod's tool directive; golangci-lint reads .golangci.yml), and cfn-lint on
# template.yaml when it is installed. Each check runs even when one before it failed; the last
# line says whether everything is clean.
#
# LINT_KNOWN=FILE: findings of staticcheck and golangci-lint listed in FILE (one
# "path: message (check)" a line, '#' comments) are reported as known but do not fail; any other
# finding does, and so does every finding of go vet, gofmt and cfn-lint. CI sets it while known
# findings wait for their fix; without it (make lint) every finding fails.
#
# LINT_CFN=skip leaves cfn-lint out (CI: deploy's TestCFNLintClean runs it).
set -u
GO=${GO:-go}
KNOWN=${LINT_KNOWN:-}
failed=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { failed="$failed $1"; }

echo "== go vet ./..."
"$GO" vet ./... || fail "go-vet"

echo "== gofmt -l"
unformatted=$(gofmt -l $("$GO" list -f '{{.Dir}}' ./...))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"
	echo "$unformatted"
	fail "gofmt"
fi

# run_tool NAME COMMAND...: runs a linter, prints its output, and leaves its findings as
# "path: message (check)" in $tmp/NAME. A tool that fails without a finding (it could not load
# the packages, say) fails the lint.
run_tool() {
	name=$1
	shift
	echo "== $*"
	"$@" > "$tmp/$name.out" 2>&1
	status=$?
	cat "$tmp/$name.out"
	grep -E '^[^ :]+\.go:[0-9]+(:[0-9]+)?: ' "$tmp/$name.out" |
		sed -E 's/^([^ :]+\.go):[0-9]+(:[0-9]+)?: /\1: /' | sort > "$tmp/$name"
	if [ "$status" -ne 0 ] && [ ! -s "$tmp/$name" ]; then
		echo "$name failed without reporting a finding"
		fail "$name"
	fi
}

run_tool staticcheck "$GO" tool staticcheck ./...
# One line per finding (no source excerpt), every finding (.golangci.yml lifts the limits).
run_tool golangci-lint "$GO" tool golangci-lint run --output.text.print-issued-lines=false
for name in staticcheck golangci-lint; do
	[ -s "$tmp/$name" ] || continue
	if [ -z "$KNOWN" ]; then
		fail "$name"
		continue
	fi
	grep -v -e '^#' -e '^[[:space:]]*$' "$KNOWN" | sort > "$tmp/known"
	comm -23 "$tmp/$name" "$tmp/known" > "$tmp/$name.new"
	known=$(comm -12 "$tmp/$name" "$tmp/known" | wc -l | tr -d ' ')
	echo "$name: $known known findings listed in $KNOWN, waiting for their fix"
	if [ -s "$tmp/$name.new" ]; then
		echo "$name: findings not listed in $KNOWN:"
		sed 's/^/  /' "$tmp/$name.new"
		fail "$name"
	fi
done
if [ -n "$KNOWN" ]; then
	cat "$tmp/staticcheck" "$tmp/golangci-lint" | sort > "$tmp/all"
	grep -v -e '^#' -e '^[[:space:]]*$' "$KNOWN" | sort | comm -23 - "$tmp/all" > "$tmp/fixed"
	if [ -s "$tmp/fixed" ]; then
		echo "fixed, so no longer needed in $KNOWN:"
		sed 's/^/  /' "$tmp/fixed"
	fi
fi

if [ "${LINT_CFN:-}" = skip ]; then
	cfn="cfn-lint left out (LINT_CFN=skip)"
elif command -v cfn-lint > /dev/null 2>&1; then
	echo "== cfn-lint template.yaml"
	cfn-lint -- template.yaml || fail "cfn-lint"
	cfn="cfn-lint"
else
	echo "== cfn-lint is not installed (pip install cfn-lint): template lint skipped"
	cfn="cfn-lint skipped"
fi

if [ -n "$failed" ]; then
	echo "lint: FAILED:$failed (see above)"
	exit 1
fi
if [ -n "$KNOWN" ] && [ -s "$tmp/all" ]; then
	echo "lint: clean but for the known findings in $KNOWN (go vet, gofmt, staticcheck, golangci-lint; $cfn)"
else
	echo "lint: clean (go vet, gofmt, staticcheck, golangci-lint; $cfn)"
fi
