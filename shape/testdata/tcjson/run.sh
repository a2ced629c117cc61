# usage: run.sh ROOTFAKE [CHILDFAKE]
ip link add x type veth peer name y; ip link set x up; ip link set y up; ip link set lo up
tc qdisc add dev x root handle 1: tbf rate 20mbit burst 32kb latency 50ms
[ -n "$2" ] && tc qdisc add dev x parent 1:1 handle 2: tbf rate 20mbit burst 32kb latency 50ms
export NPTE_FAKE_1=/tmp/nl/$1.bin
[ -n "$2" ] && export NPTE_FAKE_2=/tmp/nl/$2.bin
LD_PRELOAD=/tmp/nl/shim.so tc -j qdisc show; echo
LD_PRELOAD=/tmp/nl/shim.so tc qdisc show
