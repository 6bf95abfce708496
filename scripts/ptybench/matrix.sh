#!/bin/sh
# matrix.sh runs the PTY benchmark's full matrix for two builds of twinkle at once, the way
# the README's figures were measured: on a quiet machine of 12 or more physical cores, in
# four lanes (before and after; 30 tokens/s at 2,000 tokens, the rest), each program pinned
# to two cores of its own and each harness (test server and terminal) to cores the programs
# do not use. With fewer cores it runs two lanes. Nothing here needs Go: build first,
#
#   CGO_ENABLED=0 go build -o .devbin/twinkle-after .
#   CGO_ENABLED=0 go test -c -o .devbin/ptybench.test ./scripts/ptybench
#
# (and .devbin/twinkle-before from the commit to compare with), then
#
#   scripts/ptybench/matrix.sh .devbin/twinkle-before .devbin/twinkle-after .devbin/ptybench.test OUT
set -eu
before=$1 after=$2 bench=$3 out=$4
mkdir -p "$out"

# The CPUs this process may use (a container's cpuset), then one of each physical core
# among them (lscpu's CORE and SOCKET), else all of them.
allowed=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status | tr ',' '\n' |
	awk -F- '{ hi = ($2 == "") ? $1 : $2; for (c = $1; c <= hi; c++) print c }' | paste -sd' ' -)
[ -n "$allowed" ] || allowed=$(seq 0 $(($(nproc) - 1)) | paste -sd' ' -)
cores=$(lscpu -p=CPU,CORE,SOCKET 2>/dev/null | grep -v '^#' |
	awk -F, -v ok="$allowed" 'BEGIN { n = split(ok, a, " "); for (i = 1; i <= n; i++) use[a[i]] = 1 }
		use[$1] && !seen[$2","$3]++ {print $1}' | paste -sd' ' -)
[ -n "$cores" ] || cores=$allowed
n=$(echo "$cores" | wc -w)
lanes=4
[ "$n" -ge 12 ] || lanes=2
lane_cpus() { # lane index (0-based) -> "a,b", the lane's two cores
	echo "$cores" | tr ' ' '\n' | sed -n "$(($1 * 2 + 1)),$(($1 * 2 + 2))p" | paste -sd, -
}
harness=$(echo "$cores" | tr ' ' '\n' | sed -n "$((lanes * 2 + 1)),\$p" | paste -sd, -)
[ -n "$harness" ] || harness=$(echo "$cores" | tr ' ' ',')
{
	echo "physical cores (one CPU each): $cores"
	echo "lanes: $lanes; harness CPUs: $harness"
	lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket' || true
} >"$out/machine.txt"

# run LANE BIN NAME BENCH-REGEX COUNT: one benchmark process, appending to the lane's file.
run() {
	cpus=$(lane_cpus "$1")
	echo "== $3 $4 (program on CPUs $cpus)" >>"$out/lane$1.txt"
	taskset -c "$harness" "$bench" -test.run '^$' -test.bench "$4" -test.benchtime 1x -test.count "$5" \
		-ptybench.full -ptybench.bin "$2" -ptybench.cpus "$cpus" -ptybench.raw "$out/raw-$3" >>"$out/lane$1.txt" 2>&1 || true
}
slow='PTY/n=/tok=2000/color=/rate=30$'
rest30='PTY/n=/tok=500/color=/rate=30$'
fast='PTY/n=/tok=/color=/rate=1000$'
if [ "$lanes" -eq 4 ]; then
	run 0 "$before" before "$slow" 1 &
	run 1 "$after" after "$slow" 1 &
	(run 2 "$before" before "$fast" 3 && run 2 "$before" before "$rest30" 1) &
	(run 3 "$after" after "$fast" 3 && run 3 "$after" after "$rest30" 1) &
else
	(run 0 "$before" before "$fast" 3 && run 0 "$before" before "$rest30" 1 && run 0 "$before" before "$slow" 1) &
	(run 1 "$after" after "$fast" 3 && run 1 "$after" after "$rest30" 1 && run 1 "$after" after "$slow" 1) &
fi
wait
