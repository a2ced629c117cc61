package cli_test

// Script-versus-live checks of the gateway's host-state steps (issue 10
// items 4, 5 and 7): the overlap check (RequireNoRoute), the group check
// of the host link (IfOutput) and the gateway records, with programs whose
// output takes each branch.

import (
	"strings"
	"testing"

	"github.com/npte/npte/internal/fidelity"
)

// gwWorldNone: NS router exists, the host has eth0, and nothing of a
// gateway is there (no if-host, no if-router, no table, no chain).
func gwWorldNone(argv []string) int {
	a := strings.Join(argv, " ")
	switch {
	case a == "ip -n router link show dev lo", a == "ip link show dev eth0":
		return 0
	case strings.Contains(a, " link show dev "), strings.Contains(a, "nft list table"), strings.Contains(a, " -S NPTE-GW-"):
		return 1
	}
	return 0
}

// outputs makes the programs whose argv is a key print the value.
func outputs(m map[string]string) func([]string) string {
	return func(argv []string) string { return m[strings.Join(argv, " ")] }
}

func events(r fidelity.Result) []string {
	var out []string
	for _, e := range r.Events {
		out = append(out, strings.Join(e.Argv, " "))
	}
	return out
}

func hasEvent(r fidelity.Result, prefix string) bool {
	for _, e := range events(r) {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

func TestGatewayFidelity(t *testing.T) {
	const link = "ip -o link show dev if-router group 28272"
	for _, tc := range []struct {
		name  string
		setup fidelity.Setup
		args  []string
		exit  int
		state string
		has   []string // events that must happen (prefixes)
		not   []string // events that must not happen (prefixes)
	}{
		{
			name:  "create records the backend",
			setup: fidelity.Setup{Managed: []string{"router"}},
			args:  []string{"gateway", "create", "router", "10.77.0.0/24", "eth0"},
			state: "gateway/router.nft netns/router",
			has:   []string{"ip -o -4 route show table all root 10.77.0.0/24", "ip link add name if-router group 28272 type veth"},
		},
		{
			name:  "create iptables records iptables",
			setup: fidelity.Setup{Managed: []string{"router"}},
			args:  []string{"gateway", "create", "--firewall", "iptables", "--subnet6", "fd00:77::/64", "router", "10.77.0.0/24", "eth0"},
			state: "gateway/router.iptables netns/router",
			has:   []string{"ip -o -6 route show table all match fd00:77::/64", "iptables -t nat -N NPTE-GW-ROUTER"},
		},
		{
			name: "create refuses a subnet inside a host route",
			setup: fidelity.Setup{Managed: []string{"router"}, Output: outputs(map[string]string{
				"ip -o -4 route show table all root 10.77.0.0/24": "10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.5 \nlocal 10.77.0.5 dev eth0 table local proto kernel scope host src 10.77.0.5 \n",
			})},
			args:  []string{"gateway", "create", "router", "10.77.0.0/24", "eth0"},
			exit:  2,
			state: "netns/router",
			not:   []string{"ip link add", "nft -f", "ip -o -4 route show table all match"},
		},
		{
			name: "create refuses a subnet a host route covers",
			setup: fidelity.Setup{Managed: []string{"router"}, Output: outputs(map[string]string{
				"ip -o -4 route show table all match 172.16.1.0/24": "default via 10.0.0.1 dev eth0 \n172.16.0.0/12 dev eth0 scope link \n",
			})},
			args:  []string{"gateway", "create", "router", "172.16.1.0/24", "eth0"},
			exit:  2,
			state: "netns/router",
			not:   []string{"ip link add", "nft -f"},
		},
		{
			name: "create accepts default routes only",
			setup: fidelity.Setup{Managed: []string{"router"}, Output: outputs(map[string]string{
				"ip -o -4 route show table all match 172.16.1.0/24": "default via 10.0.0.1 dev eth0 \nunreachable default dev lo table 7 metric 4278198272 \n\n",
				"ip -o -6 route show table all match fd00:1::/64":   "default via fe80::1 dev eth0 proto ra metric 1024 pref medium\n",
			})},
			args:  []string{"gateway", "create", "--subnet6", "fd00:1::/64", "router", "172.16.1.0/24", "eth0"},
			state: "gateway/router.nft netns/router",
			has:   []string{"ip link add"},
		},
		{
			name: "create refuses an address in the subnet",
			setup: fidelity.Setup{Managed: []string{"router"}, Output: outputs(map[string]string{
				"ip -o -6 addr show to fd00:1::/64": "3: wan    inet6 fd00:1::5/64 scope global \\       valid_lft forever preferred_lft forever\n",
			})},
			args:  []string{"gateway", "create", "--subnet6", "fd00:1::/64", "router", "172.16.1.0/24", "eth0"},
			exit:  2,
			state: "netns/router",
			not:   []string{"ip link add"},
		},
		{
			name:  "create refuses over a record",
			setup: fidelity.Setup{Managed: []string{"router"}, Gateways: []string{"router.iptables"}},
			args:  []string{"gateway", "create", "router", "10.77.0.0/24", "eth0"},
			exit:  2,
			state: "gateway/router.iptables netns/router",
			not:   []string{"nft", "ip -o"},
		},
		{
			name:  "destroy recorded nft, link in npte's group",
			setup: fidelity.Setup{Managed: []string{"router"}, Gateways: []string{"router.nft"}, Output: outputs(map[string]string{link: "7: if-router@if2: <BROADCAST> mtu 1500 group 28272\n"})},
			args:  []string{"gateway", "destroy", "router"},
			state: "netns/router",
			has:   []string{"nft -f -", link, "ip link del dev if-router", "ip netns exec router nft -f -"},
			not:   []string{"iptables"},
		},
		{
			name:  "destroy recorded nft, link not in npte's group",
			setup: fidelity.Setup{Managed: []string{"router"}, Gateways: []string{"router.nft"}},
			args:  []string{"gateway", "destroy", "router"},
			state: "netns/router",
			has:   []string{"nft -f -", link},
			not:   []string{"ip link del", "iptables"},
		},
		{
			name:  "destroy recorded iptables without the flag",
			setup: fidelity.Setup{Managed: []string{"router"}, Gateways: []string{"router.iptables"}, Output: outputs(map[string]string{link: "7: if-router@if2: group 28272\n"})},
			args:  []string{"gateway", "destroy", "router"},
			state: "netns/router",
			has:   []string{"iptables -t filter -D FORWARD", "ip6tables -t nat -X NPTE-GW-ROUTER", "ip link del dev if-router"},
			not:   []string{"nft"},
		},
		{
			name:  "destroy unrecorded: both backends, no link",
			setup: fidelity.Setup{Managed: []string{"wan"}, Output: outputs(map[string]string{"ip -o link show dev if-wan group 28272": "7: if-wan: group 28272\n"})},
			args:  []string{"gateway", "destroy", "wan"},
			state: "netns/wan",
			has:   []string{"nft -f -", "iptables -t nat -D POSTROUTING", "ip netns exec wan nft -f -"},
			not:   []string{"ip link del", "ip -o link show"},
		},
		{
			name:  "netns destroy removes a recorded gateway",
			setup: fidelity.Setup{Managed: []string{"router"}, Gateways: []string{"router.iptables"}, Output: outputs(map[string]string{link: "7: if-router@if2: group 28272\n"})},
			args:  []string{"netns", "destroy", "router"},
			state: "",
			has:   []string{"iptables -t nat -D POSTROUTING", "ip link del dev if-router", "ip netns del router"},
			not:   []string{"nft", "ip netns exec router iptables"},
		},
		{
			name:  "netns destroy without a gateway",
			setup: fidelity.Setup{Managed: []string{"router"}},
			args:  []string{"netns", "destroy", "router"},
			state: "",
			not:   []string{"nft", "iptables", "ip link del", "ip -o link show"},
		},
		{
			name:  "lab destroy removes the router's gateway",
			setup: fidelity.Setup{Managed: []string{"client", "router", "server"}, Gateways: []string{"router.nft"}, Output: outputs(map[string]string{link: "7: if-router@if2: group 28272\n"})},
			args:  []string{"lab", "destroy", "--no-batch"},
			state: "",
			has:   []string{"nft -f -", "ip link del dev if-router", "ip netns del router"},
		},
		{
			name:  "batched lab destroy removes the router's gateway (the long way)",
			setup: fidelity.Setup{Managed: []string{"client", "router", "server"}, Gateways: []string{"router.nft"}, Output: outputs(map[string]string{link: "7: if-router@if2: group 28272\n"})},
			args:  []string{"lab", "destroy"},
			state: "",
			has:   []string{"nft -f -", "ip link del dev if-router", "ip netns del router"},
			not:   []string{"ip -batch -"}, // a gateway record: the one-at-a-time teardown
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fidelity.Check(t, tc.setup, gwWorldNone, tc.args...)
			if r.Exit != tc.exit {
				t.Fatalf("exit %d, want %d\n%s", r.Exit, tc.exit, r.Stderr)
			}
			if tc.exit == 2 && (strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.HasPrefix(r.Stderr, "npte: ")) {
				t.Errorf("refusal is not one npte: line: %q", r.Stderr)
			}
			if r.State != tc.state {
				t.Errorf("state %q, want %q", r.State, tc.state)
			}
			for _, h := range tc.has {
				if !hasEvent(r, h) {
					t.Errorf("no %q in\n%s", h, strings.Join(events(r), "\n"))
				}
			}
			for _, n := range tc.not {
				if hasEvent(r, n) {
					t.Errorf("%q runs:\n%s", n, strings.Join(events(r), "\n"))
				}
			}
		})
	}
}
