#!/bin/bash
# bench/run.sh: what npte costs over the commands it runs (make bench).
#
# Usage: bench/run.sh [NPTE]          as root; NPTE defaults to ./npte
#        bench/run.sh --print-ops N   print the operations of a chain of N
#
# It enters a private sandbox of its own, exactly like the live tests
# (internal/sandbox): unshare --mount --net --propagation private, fresh
# tmpfs on /run and /etc/netns. Nothing it makes is visible outside, and
# all of it vanishes when it exits.
#
# For each N it builds a chain ns1 - ns2 - ... - nsN: N creates, N-1
# connects, 2(N-1) assign-addrs and N default routes (bench/chain.go
# builds the same operations for the Go benchmarks), and times, wall clock:
#   (a) npte live, one npte invocation per operation, from an sh script;
#   (b) sh running the concatenated --dry-run scripts of those operations;
#   (c) the kernel floor: the same ip operations (namespaces, forwarding
#       by `netns exec NS sysctl`, veth pairs, links up, addresses, routes)
#       in one `ip -batch` plus one
#       `ip -n NS -batch` per namespace;
#   (d) one `npte netns create --dry-run ns1`, process start to exit.
# Runs are interleaved (a, b, c in a rotating order, then d), with a
# teardown (ip -all netns delete) between them; the table shows medians.
#
# A second table times whole-lab builds and teardowns of the same chain
# (for N >= 2), in the same sandbox and the same interleaved loop:
#   floor  one host `ip -batch` + one `ip -n NS -batch` per namespace;
#          teardown: one `ip -batch` of `netns del` lines;
#   (p)    the floor's commands in 4 lanes at once, entering each
#          namespace with nsenter, as npte's plan.Lanes runs them
#          (lanesfloor); the same teardown;
#   (e)    npte lab chain N: one plan under one lock, batched (package
#          batch); teardown: npte lab chain --destroy N (batched);
#   (f)    sh running `npte lab chain N --dry-run` (and the --destroy one);
#   (g)    npte lab chain --no-batch N: one plan, one command per step;
#   (l)    npte lab apply FILE: the same chain (same names, addresses and
#          routes) as a lab file; teardown: npte lab destroy chainN;
#   (s)    sh running `npte lab apply FILE --dry-run` (teardown: sh
#          running `npte lab destroy chainN --dry-run`, written after the
#          build, untimed);
#   (m)    Mininet (Debian's mininet package, if installed): bench/
#          mininet_chain.py, hosts linked directly, no Open vSwitch, no
#          controller; its own build and stop times (Python start-up not
#          counted). `mn` is never run.
# (a), (b) and (g) are skipped above NPTE_BENCH_PEROP_MAX namespaces.
#
# Environment: NPTE_BENCH_SIZES (default "10 100"), NPTE_BENCH_RUNS
# (default 5), NPTE_BENCH_DRY (timed (d) invocations per run, default 20),
# NPTE_BENCH_PEROP_MAX (default 100), NPTE_BENCH_MININET (auto, or 0 to
# leave Mininet out).
set -eu

prog=bench/run.sh

die() {
	echo "$prog: $*" >&2
	exit 2
}

# ops N prints the npte command lines (without "npte") of a chain of N.
# Link i joins ns(i) and ns(i+1) on 10.H.L.0/24 (i = 256H + L).
ops() {
	local n=$1 i net
	for ((i = 1; i <= n; i++)); do
		echo "netns create ns$i"
	done
	for ((i = 1; i < n; i++)); do
		echo "netns connect ns$i ns$((i + 1))"
	done
	for ((i = 1; i < n; i++)); do
		net=10.$((i >> 8)).$((i & 255))
		echo "netns assign-addr ns$i if-ns$((i + 1)) $net.1/24"
		echo "netns assign-addr ns$((i + 1)) if-ns$i $net.2/24"
	done
	if ((n > 1)); then
		for ((i = 1; i < n; i++)); do
			echo "netns add-route ns$i default 10.$((i >> 8)).$((i & 255)).2"
		done
		echo "netns add-route ns$n default 10.$(((n - 1) >> 8)).$(((n - 1) & 255)).1"
	fi
	# The way back to ns1: ns3 .. ns(N-1) route its link via the left.
	for ((i = 3; i < n; i++)); do
		echo "netns add-route ns$i 10.0.1.0/24 10.$(((i - 1) >> 8)).$(((i - 1) & 255)).1"
	done
}

if [ "${1:-}" = --print-ops ]; then
	[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--print-ops needs a chain length"
	ops "$2"
	exit 0
fi

npte=${1:-./npte}
sizes=${NPTE_BENCH_SIZES:-10 100}
perop_max=${NPTE_BENCH_PEROP_MAX:-100}
mininet=${NPTE_BENCH_MININET:-auto}
pyfile=$(dirname -- "$(realpath -- "$0")")/mininet_chain.py
runs=${NPTE_BENCH_RUNS:-5}
dry=${NPTE_BENCH_DRY:-20}
for v in $sizes $runs $dry $perop_max; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "NPTE_BENCH_SIZES, NPTE_BENCH_RUNS and NPTE_BENCH_DRY take positive integers, not '$v'"
done
for v in $sizes; do
	((v <= 65535)) || die "a chain of $v namespaces is more than the addressing scheme numbers"
done

if [ "${NPTE_BENCH_SANDBOX:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || die "needs root: it builds namespaces, inside a private sandbox of its own (run: sudo make bench)"
	command -v unshare >/dev/null || die "needs unshare (Debian package util-linux)"
	[ -x "$npte" ] || die "$npte: no such executable (run make build, or pass the path of npte)"
	npte=$(realpath -- "$npte")
	self=$(realpath -- "$0")
	NPTE_BENCH_SANDBOX=1 exec unshare --mount --net --propagation private -- "$self" "$npte"
fi

# Inside the sandbox: the same mounts as internal/sandbox.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /etc/netns
mount -t tmpfs -o mode=0755 tmpfs /etc/netns
ip link set dev lo up

work=$(mktemp -d /tmp/npte-bench.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
export NPTE=$npte

now() { echo "${EPOCHREALTIME/./}"; } # microseconds, no fork

# median prints the median of its arguments (integers).
median() {
	local sorted n
	mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
	n=${#sorted[@]}
	if ((n % 2)); then
		echo "${sorted[n / 2]}"
	else
		echo $(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
	fi
}

# ms prints microseconds as milliseconds with two decimals.
ms() { printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10)); }

# ratio prints $1/$2 with two decimals.
ratio() {
	local h=$((($1 * 100 + $2 / 2) / $2)) # hundredths, rounded
	printf '%d.%02d' $((h / 100)) $((h % 100))
}

teardown() {
	ip -all netns delete 2>/dev/null || true
	rm -rf /run/npte /etc/netns/*
	# Namespaces are freed asynchronously by the kernel; let it finish
	# before the next timed run.
	sleep "$1"
}

# tasks sets $tasks to the number of processes and threads the machine
# has started since boot (the "processes" line of /proc/stat), without
# starting one itself.
tasks() {
	local k v
	while read -r k v _; do
		if [ "$k" = processes ]; then
			tasks=$v
			return
		fi
	done </proc/stat
}

# timeus CMD... runs CMD (output to $work/t.out, $work/t.err) and prints
# its wall time in µs; it dies naming CMD when it fails. It leaves in
# $work/tasks the processes and threads started while CMD ran (CMD, its
# children, their threads; and whatever else the machine started then).
timeus() {
	local t0 t1 p0
	t0=$(now)
	tasks
	p0=$tasks
	if ! "$@" >"$work/t.out" 2>"$work/t.err"; then
		tail -5 "$work/t.err" >&2
		die "$* failed"
	fi
	tasks
	t1=$(now)
	echo $((tasks - p0)) >"$work/tasks"
	echo $((t1 - t0))
}

# clean checks that a teardown left nothing: no namespace, no marker.
clean() {
	local got
	got=$(ip netns list | wc -l)
	[ "$got" = 0 ] || die "($1) N=$2: $got namespaces left after the teardown"
	if [ -d /run/npte/netns ]; then
		got=$(find /run/npte/netns /run/npte/intent -mindepth 1 | wc -l)
		[ "$got" = 0 ] || die "($1) N=$2: $got npte records left after the teardown"
	fi
	if [ -d /run/npte/lab ]; then
		got=$(find /run/npte/lab -mindepth 1 | wc -l)
		[ "$got" = 0 ] || die "($1) N=$2: a lab record is left after the teardown"
	fi
}

# pingchain N checks the chain end to end: ns1 pings nsN's address (for
# N > 50, ns50's: a ping's TTL of 64 does not cross a longer chain).
pingchain() {
	local n=$1 k=$1 last
	((k <= 50)) || k=50
	last=$((k - 1))
	ip netns exec ns1 ping -n -c 1 -W 5 "10.$((last >> 8)).$((last & 255)).2" >/dev/null ||
		die "($2) N=$n: ns1 cannot ping ns$k"
}

# composite N METHOD runs one build and one teardown of a whole-lab method
# and prints "BUILD TEARDOWN TASKS": times in µs, and the processes and
# threads started during the build.
composite() {
	local n=$1 m=$2 d=$work/$1 b t p
	case $m in
	floor)
		b=$(timeus sh "$d/c.sh")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus ip -batch "$d/c-down.batch")
		;;
	p)
		b=$(timeus sh "$d/p.sh")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus ip -batch "$d/c-down.batch")
		;;
	l)
		b=$(timeus "$npte" lab apply "$d/chain$n.yaml")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus "$npte" lab destroy "chain$n")
		;;
	s)
		b=$(timeus sh "$d/l.sh")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		"$npte" lab destroy "chain$n" --dry-run >"$d/l-down.sh"
		t=$(timeus sh "$d/l-down.sh")
		;;
	e)
		b=$(timeus "$npte" lab chain "$n")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus "$npte" lab chain --destroy "$n")
		;;
	f)
		b=$(timeus sh "$d/f.sh")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus sh "$d/f-down.sh")
		;;
	g)
		b=$(timeus "$npte" lab chain --no-batch "$n")
		p=$(<"$work/tasks")
		pingchain "$n" "$m"
		t=$(timeus "$npte" lab chain --no-batch --destroy "$n")
		;;
	m)
		/usr/bin/python3 "$pyfile" "$n" >"$work/m.out" 2>"$work/m.err" || {
			tail -5 "$work/m.err" >&2
			die "(m) N=$n: mininet_chain.py failed"
		}
		read -r b t p <"$work/m.out"
		;;
	esac
	clean "$m" "$n"
	echo "$b $t $p"
}

# check N METHOD verifies that the chain exists after a timed run.
check() {
	local n=$1 m=$2 got
	got=$(ip netns list | wc -l)
	[ "$got" = "$n" ] || die "($m) N=$n: $got namespaces after the run, want $n; see $work/$m.err"
	if ((n > 1)); then
		ip -n "ns$n" route show default | grep -q via || die "($m) N=$n: ns$n has no default route; see $work/$m.err"
	fi
	if [ "$m" != c ]; then
		got=$(find /run/npte/netns -mindepth 1 -maxdepth 1 | wc -l)
		[ "$got" = "$n" ] || die "($m) N=$n: $got npte markers after the run, want $n"
	fi
}

# labfile N prints the chain as a lab file: the floor's names, addresses
# and routes (ns(i) routes by default towards nsN, and 10.0.1.0/24, ns1's
# link, back towards ns1), except that nsN has no default route back to
# ns(N-1) but a route to 10.0.1.0/24: npte lab check refuses the floor's
# loop of default routes between nsN and ns(N-1). Same number of routes.
labfile() {
	local n=$1 i a b
	echo "name: chain$n"
	echo "nodes:"
	for ((i = 1; i <= n; i++)); do
		echo "  ns$i: {}"
	done
	echo "links:"
	for ((i = 1; i < n; i++)); do
		a="10.$((i >> 8)).$((i & 255))"
		echo "  - endpoints: [ns$i, ns$((i + 1))]"
		echo "    addresses: {ns$i: $a.1/24, ns$((i + 1)): $a.2/24}"
	done
	echo "routes: none"
	echo "static:"
	for ((i = 1; i <= n; i++)); do
		if ((i < n)); then
			echo "  - {node: ns$i, to: default, via: ns$((i + 1))}"
		fi
		if ((i >= 3)); then
			echo "  - {node: ns$i, to: 10.0.1.0/24, via: ns$((i - 1))}"
		fi
	done
}

# prepare N writes the three scripts of a chain of N into $work/N/.
prepare() {
	local n=$1 d=$work/$1 op i
	mkdir -p "$d"
	ops "$n" >"$d/ops"
	{
		echo 'set -e'
		while read -r op; do
			echo "\"\$NPTE\" $op"
		done <"$d/ops"
	} >"$d/a.sh"
	: >"$d/b.sh"
	while read -r op; do
		# shellcheck disable=SC2086 # op is a list of plain words
		"$npte" $op --dry-run >>"$d/b.sh"
	done <"$d/ops"
	{
		for ((i = 1; i <= n; i++)); do
			echo "netns add ns$i"
			echo "netns exec ns$i sysctl -q -w net.ipv4.ip_forward=1"
		done
		for ((i = 1; i < n; i++)); do
			echo "link add name if-ns$((i + 1)) netns ns$i type veth peer name if-ns$i netns ns$((i + 1))"
		done
	} >"$d/c-host.batch"
	{
		echo "set -e"
		echo "ip -batch $d/c-host.batch"
	} >"$d/c.sh"
	for ((i = 1; i <= n; i++)); do
		echo "netns del ns$i"
	done >"$d/c-down.batch"
	if ((n >= 2)); then
		labfile "$n" >"$d/chain$n.yaml"
		"$npte" lab apply "$d/chain$n.yaml" --dry-run >"$d/l.sh"
		"$npte" lab chain "$n" --dry-run >"$d/f.sh"
		"$npte" lab chain --destroy "$n" --dry-run >"$d/f-down.sh"
	fi
	for ((i = 1; i <= n; i++)); do
		{
			echo "link set dev lo up"
			if ((i > 1)); then
				echo "link set dev if-ns$((i - 1)) up"
				echo "addr replace 10.$(((i - 1) >> 8)).$(((i - 1) & 255)).2/24 dev if-ns$((i - 1))"
			fi
			if ((i < n)); then
				echo "link set dev if-ns$((i + 1)) up"
				echo "addr replace 10.$((i >> 8)).$((i & 255)).1/24 dev if-ns$((i + 1))"
				echo "route replace default via 10.$((i >> 8)).$((i & 255)).2"
			elif ((n > 1)); then
				echo "route replace default via 10.$(((i - 1) >> 8)).$(((i - 1) & 255)).1"
			fi
			if ((i >= 3 && i < n)); then
				echo "route replace 10.0.1.0/24 via 10.$(((i - 1) >> 8)).$(((i - 1) & 255)).1"
			fi
		} >"$d/c-ns$i.batch"
		echo "ip -n ns$i -batch $d/c-ns$i.batch" >>"$d/c.sh"
	done
	lanesfloor "$n" "$d"
}

# lanesfloor N DIR writes DIR/p.sh: the floor's commands, run the way
# npte's lanes run them (plan.Lanes): one host `ip -batch` of the netns
# adds and veth pairs, then 4 background jobs at once, job j taking
# namespaces j, j+4, ...: first their sysctls, then their batches, one
# after another, each entering its namespace with nsenter (`nsenter
# --net=/run/netns/NS sysctl ...`, `nsenter --net=/run/netns/NS ip -batch
# FILE`), as npte does inside lanes.
lanesfloor() {
	local n=$1 d=$2 i j
	{
		for ((i = 1; i <= n; i++)); do
			echo "netns add ns$i"
		done
		for ((i = 1; i < n; i++)); do
			echo "link add name if-ns$((i + 1)) netns ns$i type veth peer name if-ns$i netns ns$((i + 1))"
		done
	} >"$d/p-host.batch"
	{
		echo "set -e"
		echo "ip -batch $d/p-host.batch"
		for ((j = 1; j <= 4 && j <= n; j++)); do
			echo "("
			for ((i = j; i <= n; i += 4)); do
				echo "	nsenter --net=/run/netns/ns$i sysctl -q -w net.ipv4.ip_forward=1"
			done
			for ((i = j; i <= n; i += 4)); do
				echo "	nsenter --net=/run/netns/ns$i ip -batch $d/c-ns$i.batch"
			done
			echo ") &"
			echo "p$j=\$!"
		done
		for ((j = 1; j <= 4 && j <= n; j++)); do
			echo "wait \$p$j"
		done
	} >"$d/p.sh"
}

# timed N METHOD runs one method once and prints its wall time in µs.
timed() {
	local n=$1 m=$2 d=$work/$1 t0 t1
	t0=$(now)
	if ! sh "$d/$m.sh" >"$work/$m.out" 2>"$work/$m.err"; then
		tail -5 "$work/$m.err" >&2
		die "($m) N=$n failed"
	fi
	t1=$(now)
	echo $((t1 - t0))
}

kernel=$(uname -r)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
sh=$(readlink -f "$(command -v sh)")
echo "npte whole-process benchmark: $("$npte" --version 2>&1 | head -1), $(nproc) CPUs ($cpu), Linux $kernel, sh = $sh"
echo "medians of $runs interleaved runs, wall time; (d) over $((runs * dry)) invocations"
echo
printf '%6s %6s  %16s %16s %16s %7s %7s %11s\n' N ops '(a) npte live' '(b) sh dry-run' '(c) ip -batch' a/b a/c '(a-b)/op'

dry_times=()
true_times=()
declare -A cb=() ct=() cp=() # composite build and teardown times, build tasks, by "N m"
for n in $sizes; do
	prepare "$n"
	settle_ms=$((100 + n * 10))
	settle=$(printf '%d.%03d' $((settle_ms / 1000)) $((settle_ms % 1000)))
	teardown "$settle"
	declare -A tm=([a]='' [b]='' [c]='')
	methods=(a b c)
	if ((n > perop_max)); then
		methods=(c)
	fi
	cm=()
	if ((n >= 2)); then
		cm=(floor p l s e f)
		((n > perop_max)) || cm+=(g)
		if [ "$mininet" != 0 ] && [ -x /usr/bin/python3 ] && [ -d /usr/lib/python3/dist-packages/mininet ]; then
			cm+=(m)
		fi
	fi
	for ((r = 0; r < runs; r++)); do
		for ((k = 0; k < ${#methods[@]}; k++)); do
			m=${methods[(r + k) % ${#methods[@]}]}
			t=$(timed "$n" "$m")
			check "$n" "$m"
			tm[$m]+=" $t"
			teardown "$settle"
		done
		for ((k = 0; k < ${#cm[@]}; k++)); do
			m=${cm[(r + k) % ${#cm[@]}]}
			read -r b t p < <(composite "$n" "$m")
			[ -n "${p:-}" ] || die "($m) N=$n failed"
			cb["$n $m"]+=" $b"
			ct["$n $m"]+=" $t"
			cp["$n $m"]+=" $p"
			teardown "$settle"
		done
		for ((k = 0; k < dry; k++)); do
			t0=$(now)
			"$npte" netns create --dry-run ns1 >/dev/null
			t1=$(now)
			dry_times+=($((t1 - t0)))
			t0=$(now)
			/bin/true
			t1=$(now)
			true_times+=($((t1 - t0)))
		done
	done
	nops=$(wc -l <"$work/$n/ops")
	if ((n > perop_max)); then
		# shellcheck disable=SC2086 # lists of integers
		c=$(median ${tm[c]})
		printf '%6s %6s  %16s %16s %13s ms %7s %7s %11s\n' "$n" "$nops" skipped skipped "$(ms "$c")" - - -
		unset tm
		continue
	fi
	# shellcheck disable=SC2086 # lists of integers
	{
		a=$(median ${tm[a]})
		b=$(median ${tm[b]})
		c=$(median ${tm[c]})
	}
	extra=$(((a - b) / nops))
	sign=
	if ((extra < 0)); then
		sign=- extra=$((-extra))
	fi
	printf '%6s %6s  %13s ms %13s ms %13s ms %7s %7s %8s ms\n' "$n" "$nops" "$(ms "$a")" "$(ms "$b")" "$(ms "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$sign$(ms "$extra")"
	unset tm
done
d=$(median "${dry_times[@]}")
f=$(median "${true_times[@]}")
echo
echo "(d) npte netns create --dry-run ns1, start to exit: median $(ms "$d") ms (spawning /bin/true the same way: $(ms "$f") ms)"

# The whole-lab table: build and teardown medians, ratios to the floor,
# Mininet's build over each method's, and build µs per namespace.
if ((${#cb[@]} > 0)); then
	echo
	echo "whole lab, chain of N built and torn down in one go (medians of $runs interleaved runs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)):"
	printf '%6s  %-34s %12s %8s %9s %12s %12s %7s\n' N method build '/floor' 'mn/this' 'per node' teardown tasks
	for n in $sizes; do
		((n >= 2)) || continue
		# shellcheck disable=SC2086 # lists of integers
		fb=$(median ${cb["$n floor"]})
		mb=
		if [ -n "${cb["$n m"]:-}" ]; then
			# shellcheck disable=SC2086
			mb=$(median ${cb["$n m"]})
		fi
		for m in floor p l s e f g m; do
			[ -n "${cb["$n $m"]:-}" ] || continue
			case $m in
			floor) label='iproute2 floor (ip -batch)' ;;
			p) label='(p) the floor in 4 lanes' ;;
			l) label='(l) npte lab apply FILE' ;;
			s) label='(s) sh of its --dry-run script' ;;
			e) label='(e) npte lab chain, batched' ;;
			f) label='(f) sh of its --dry-run script' ;;
			g) label='(g) npte lab chain --no-batch' ;;
			m) label='(m) Mininet 2.3, hosts linked' ;;
			esac
			# shellcheck disable=SC2086
			{
				bm=$(median ${cb["$n $m"]})
				tdm=$(median ${ct["$n $m"]})
				pm=$(median ${cp["$n $m"]})
			}
			mr=-
			[ -z "$mb" ] || mr=$(ratio "$mb" "$bm")
			printf '%6s  %-34s %9s ms %8s %9s %9s ms %9s ms %7s\n' "$n" "$label" "$(ms "$bm")" "$(ratio "$bm" "$fb")" "$mr" "$(ms $((bm / n)))" "$(ms "$tdm")" "$pm"
		done
	done
	echo "tasks: processes and threads started during the build (the machine's /proc/stat count, so anything"
	echo "else it started then too: run it idle); Go's runtime threads count, as do Python's for Mininet."
fi
