#!/bin/sh
# Runs every fuzz target of the module for FUZZTIME (default 30s) each, one after the other;
# stops at the first failure, which go test reports with the input it saved under the
# package's testdata/fuzz. Says first how many targets there are and how long that takes.
set -eu
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}

# One go test -list for the whole module: each package's Fuzz* names, then its "ok" line.
echo "fuzz: listing the fuzz targets (builds every test binary)"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
"$GO" test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok/ { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
' > "$list"
total=$(wc -l < "$list" | tr -d ' ')
if [ "$total" -eq 0 ]; then
	echo "fuzz: no fuzz targets found"
	exit 1
fi

# The total, when FUZZTIME is a whole number of seconds, minutes or hours (it may also be a
# count such as 1000x, or a compound duration).
case $FUZZTIME in
*[!0-9]*[smh] | *[!0-9smh]*) length="$total × $FUZZTIME" ;;
*s)
	secs=$((total * ${FUZZTIME%s}))
	if [ "$secs" -lt 120 ]; then
		length="$total × $FUZZTIME = $secs s"
	else
		length="$total × $FUZZTIME = about $((secs / 60)) min"
	fi
	;;
*m) length="$total × $FUZZTIME = about $((total * ${FUZZTIME%m})) min" ;;
*h) length="$total × $FUZZTIME = about $((total * ${FUZZTIME%h})) h" ;;
*) length="$total × $FUZZTIME" ;;
esac
echo "fuzz: $total targets, $FUZZTIME each, one at a time: $length of fuzzing, plus about 5 s of build and baseline per target (FUZZTIME=… to change it)"

i=0
while read -r pkg target; do
	i=$((i + 1))
	echo "== fuzz $i/$total: $pkg $target ($FUZZTIME)"
	"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
done < "$list"
echo "fuzz: $total targets ran for $FUZZTIME each, no failure"
