"""bench/mininet_chain.py N: Mininet's side of make bench (bench/run.sh).

Builds the chain of bench/chain.go with Mininet's Python API (Debian's
mininet package): N hosts h1..hN, host i linked directly to host i+1 (a veth
pair, no switch, no Open vSwitch, no controller), the same addresses as
npte's chain (10.H.L.1/24 and .2/24 on link i), IPv4 forwarding on, the
same routes (default to the right, the last to the left; h3..h(N-1) route
10.0.1.0/24 to the left); pings h1 -> hN's address (h50's for a longer
chain: TTL 64); then stops the network.
Prints "BUILD_US TEARDOWN_US TASKS" (wall time, microseconds, inside this
process: the Python start-up and imports are not counted; and the processes
and threads the machine started during the build, from /proc/stat).

It never runs `mn` or `mn -c` (whose clean-up kills processes by name), and
it skips Mininet.init(), whose fixLimits() raises host-wide limits
(fs.file-max, kernel.pty.max); run.sh runs it inside its private sandbox.
"""
import sys
import time

sys.path.insert(0, '/usr/lib/python3/dist-packages')

from mininet.net import Mininet  # noqa: E402
from mininet.log import setLogLevel  # noqa: E402


def net(i, host):
    return '10.%d.%d.%d' % (i >> 8, i & 255, host)


def tasks():
    """The processes and threads the machine has started since boot."""
    with open('/proc/stat') as f:
        for line in f:
            if line.startswith('processes '):
                return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1])
    setLogLevel('error')
    Mininet.inited = True  # no fixLimits(): it changes host-wide sysctls
    p0 = tasks()
    t0 = time.monotonic()
    mn = Mininet(topo=None, controller=None, build=False)
    hosts = [mn.addHost('h%d' % i, ip=None) for i in range(1, n + 1)]
    for i in range(1, n):
        mn.addLink(hosts[i - 1], hosts[i],
                   intfName1='h%d-r' % i, intfName2='h%d-l' % (i + 1),
                   params1={'ip': net(i, 1) + '/24'},
                   params2={'ip': net(i, 2) + '/24'})
    for i, h in enumerate(hosts, start=1):
        cmds = ['ip link set dev lo up', 'sysctl -q -w net.ipv4.ip_forward=1']
        if i < n:
            cmds.append('ip route replace default via ' + net(i, 2))
        elif n > 1:
            cmds.append('ip route replace default via ' + net(i - 1, 1))
        if 3 <= i < n:
            cmds.append('ip route replace 10.0.1.0/24 via ' + net(i - 1, 1))
        h.cmd(' && '.join(cmds))
    t1 = time.monotonic()
    p1 = tasks()
    if n > 1:
        k = min(n, 50)  # a ping's TTL of 64 does not cross a longer chain
        out = hosts[0].cmd('ping -n -c 1 -W 5 ' + net(k - 1, 2))
        if ' 1 received' not in out:
            mn.stop()
            sys.exit('mininet_chain: h1 cannot ping h%d:\n%s' % (k, out))
    t2 = time.monotonic()
    mn.stop()
    t3 = time.monotonic()
    print('%d %d %d' % ((t1 - t0) * 1e6, (t3 - t2) * 1e6, p1 - p0))


if __name__ == '__main__':
    main()
