#!/usr/bin/env bash
# Runs every native fuzz target of ./fuzz for ${FUZZTIME:-15s} each, one
# after another (go test runs one -fuzz target per invocation). Fails on
# the first crash; the failing input is then in fuzz/testdata/fuzz/<Target>/.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-15s}"

# The seed corpora (f.Add and testdata/fuzz) run as plain tests first.
echo "fuzz/smoke.sh: go test ./fuzz (seed corpora)"
go test ./fuzz

targets=$(go test ./fuzz -list '^Fuzz' | grep '^Fuzz' || true)
if [[ -z "$targets" ]]; then
	echo "fuzz/smoke.sh: no fuzz targets found in ./fuzz" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $targets; do
	t="$fuzztime"
	case "$target" in
	# Each input is a loopback network exchange that may wait out a
	# deadline; timed runs end with Go's fuzzer reporting its own context
	# deadline while a worker is mid-input, so this one runs a count.
	FuzzMQTTConn) t="${FUZZCOUNT_NET:-500x}" ;;
	esac
	echo "fuzz/smoke.sh: fuzzing $target for $t"
	for try in 1 2; do
		if go test ./fuzz -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime "${FUZZMINIMIZETIME:-5s}" 2>&1 | tee "$log"; then
			break
		fi
		# Go's fuzzer sometimes ends a timed run with its own "context
		# deadline exceeded" and no failing input: not a finding, so the
		# target runs once more. A crash writes its input and fails at once.
		if [[ $try == 2 ]] || grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			exit 1
		fi
		echo "fuzz/smoke.sh: $target ended with the fuzzer's own deadline and no failing input; running it once more"
	done
done
echo "fuzz/smoke.sh: all $(echo $targets | wc -w) targets ran without a crash ($fuzztime each; FuzzMQTTConn ${FUZZCOUNT_NET:-500x} inputs)"
