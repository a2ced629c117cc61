package gateway

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
	"github.com/npte/npte/validate"
)

func cfg(ns, subnet, subnet6, ext string, fw Firewall) Config {
	c := Config{NS: ns, Ext: ext, Firewall: fw}
	if p, err := netip.ParsePrefix(subnet); err == nil {
		c.Subnet = p
	}
	if subnet6 != "" {
		c.Subnet6 = netip.MustParsePrefix(subnet6)
	}
	return c
}

func TestCheck(t *testing.T) {
	ok := []Config{
		cfg("router", "172.16.1.0/24", "", "eth0", NFT),
		cfg("a", "10.0.0.0/30", "", "eth0", IPTables),
		cfg("abcdefghijkl", "10.0.0.0/16", "fd00::/64", "enp1s0", NFT),
		cfg("r", "192.168.0.0/16", "fd00::/126", "wlan0", NFT),
		cfg("r", "100.64.0.0/30", "fc00:1:2::/48", "wlan0", NFT),
		cfg("r", "172.31.255.252/30", "fdff:ffff:ffff:ffff::/64", "wlan0", IPTables),
	}
	for _, c := range ok {
		if err := c.Check(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []struct {
		c    Config
		want string
	}{
		{cfg("host", "10.0.0.0/24", "", "eth0", NFT), `"host" cannot have a gateway`},
		{cfg("Router", "10.0.0.0/24", "", "eth0", NFT), "lowercase"},
		{cfg("abcdefghijklm", "10.0.0.0/24", "", "eth0", NFT), "at most 12"},
		{cfg("r", "10.0.0.1/24", "", "eth0", NFT), "did you mean 10.0.0.0/24"},
		{cfg("r", "10.0.0.0/31", "", "eth0", NFT), "/30 or wider"},
		{cfg("r", "10.0.0.0/32", "", "eth0", NFT), "/30 or wider"},
		{cfg("r", "fd00::/64", "", "eth0", NFT), "must be an IPv4 subnet"},
		{cfg("r", "", "", "eth0", NFT), "must be an IPv4 subnet"},
		{cfg("r", "10.0.0.0/24", "fd00::/127", "eth0", NFT), "/126 or wider"},
		{cfg("r", "10.0.0.0/24", "fd00::1/64", "eth0", NFT), "did you mean fd00::/64"},
		{cfg("r", "10.0.0.0/24", "10.1.0.0/24", "eth0", NFT), "must be an IPv6 subnet"},
		{cfg("r", "10.0.0.0/24", "", "if-r", NFT), "not the gateway's own veth"},
		{cfg("r", "10.0.0.0/24", "", "if-host", NFT), "not the gateway's own veth"},
		{cfg("r", "10.0.0.0/24", "", "eth0;id", NFT), "interface name"},
		{cfg("r", "10.0.0.0/24", "", "-eth0", NFT), `must not start with "-"`},
		{cfg("r", "10.0.0.0/24", "", `eth"0`, NFT), "interface name"},
		{cfg("r", "10.0.0.0/24", "", "eth0", "pf"), `"nft" or "iptables"`},
		{cfg("r", "10.0.0.0/24", "", "eth0", ""), `"nft" or "iptables"`},
		// Issue 10 item 4: private, at most /16 (/48), so that the host
		// never routes a public destination into the namespace.
		{cfg("r", "8.8.8.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "0.0.0.0/0", "", "eth0", NFT), "/16 or narrower"},
		{cfg("r", "0.0.0.0/2", "", "eth0", NFT), "/16 or narrower"},
		{cfg("r", "10.0.0.0/8", "", "eth0", NFT), "/16 or narrower"},
		{cfg("r", "172.16.0.0/12", "", "eth0", NFT), "/16 or narrower"},
		{cfg("r", "10.0.0.0/15", "", "eth0", NFT), "/16 or narrower"},
		{cfg("r", "172.32.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "100.128.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "192.169.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "127.0.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "169.254.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "224.0.0.0/24", "", "eth0", NFT), "must be private"},
		{cfg("r", "10.0.0.0/24", "2001:db8::/64", "eth0", NFT), "unique local"},
		{cfg("r", "10.0.0.0/24", "fe80::/64", "eth0", NFT), "unique local"},
		{cfg("r", "10.0.0.0/24", "fd00::/47", "eth0", NFT), "/48 or narrower"},
		{cfg("r", "10.0.0.0/24", "::/0", "eth0", NFT), "/48 or narrower"},
		{cfg("r", "10.0.0.0/24", "fc00::/7", "eth0", NFT), "/48 or narrower"},
	}
	for _, b := range bad {
		err := b.c.Check()
		var ve *validate.Error
		if !errors.As(err, &ve) {
			t.Errorf("%+v: got %v, want a *validate.Error", b.c, err)
			continue
		}
		if !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %q does not say %q on one line", b.c, err, b.want)
		}
	}
}

func TestNames(t *testing.T) {
	if HostLink("abcdefghijkl") != "if-abcdefghijkl" || len(HostLink("abcdefghijkl")) > 15 {
		t.Error("host link name")
	}
	if got := Chain("abcdefghijkl"); got != "NPTE-GW-ABCDEFGHIJKL" || len(got) > 28 {
		t.Errorf("chain %q", got)
	}
	if Table("r") != "npte-gw-r" || Tag("r") != "npte:gw:r" {
		t.Error("table or tag")
	}
}

func commands(steps []plan.Step) []plan.Command {
	var out []plan.Command
	plan.Walk(steps, func(s plan.Step) {
		if c, ok := s.(plan.Command); ok {
			out = append(out, c)
		}
	})
	return out
}

func TestCreateOrder(t *testing.T) {
	p := Create(cfg("router", "172.16.1.0/24", "", "eth0", NFT))
	if _, ok := p.Steps[0].(plan.Lock); !ok {
		t.Fatal("create must take the lock first")
	}
	var argvs []string
	for _, c := range commands(p.Steps) {
		argvs = append(argvs, strings.Join(c.Argv, " "))
	}
	want := []string{
		"nft -f -",
		"ip link add name if-router group 28272 type veth peer name if-host netns router group 28272",
		"ip addr add 172.16.1.1/24 dev if-router",
		"ip link set dev if-router up",
		"ip -n router addr add 172.16.1.2/24 dev if-host",
		"ip -n router link set dev if-host up",
		"ip -n router route add default via 172.16.1.1 dev if-host",
		"ip netns exec router nft -f -",
		"sysctl -q -w net.ipv4.ip_forward=1",
	}
	if strings.Join(argvs, "\n") != strings.Join(want, "\n") {
		t.Errorf("create runs\n%s\nwant\n%s", strings.Join(argvs, "\n"), strings.Join(want, "\n"))
	}
	// Every guard comes before the record, and the record before the
	// first command.
	seenCmd, seenRecord := false, false
	for _, s := range p.Steps {
		switch s.(type) {
		case plan.Command:
			seenCmd = true
			if !seenRecord {
				t.Error("a command before the gateway record")
			}
		case plan.WriteGatewayRecord:
			seenRecord = true
		case plan.Probe, plan.RequireNoRoute, plan.RequireNoGatewayRecord:
			if seenCmd || seenRecord {
				t.Errorf("a guard after a change: %s", s.Describe())
			}
		}
	}
	// The overlap checks: root, match and addr for each family.
	var checks []string
	for _, s := range Create(cfg("router", "172.16.1.0/24", "fd00:1::/64", "eth0", NFT)).Steps {
		if c, ok := s.(plan.RequireNoRoute); ok {
			checks = append(checks, strings.Join(c.Argv, " "))
		}
	}
	wantChecks := []string{
		"ip -o -4 route show table all root 172.16.1.0/24",
		"ip -o -4 route show table all match 172.16.1.0/24",
		"ip -o -4 addr show to 172.16.1.0/24",
		"ip -o -6 route show table all root fd00:1::/64",
		"ip -o -6 route show table all match fd00:1::/64",
		"ip -o -6 addr show to fd00:1::/64",
	}
	if strings.Join(checks, "\n") != strings.Join(wantChecks, "\n") {
		t.Errorf("overlap checks\n%s\nwant\n%s", strings.Join(checks, "\n"), strings.Join(wantChecks, "\n"))
	}
	if strings.Join(p.Undo, " ") != "gateway destroy router" {
		t.Errorf("undo %q", p.Undo)
	}
}

func TestRuleset(t *testing.T) {
	c := cfg("router", "172.16.1.0/24", "fd00:1::/64", "eth0", NFT)
	host := hostRuleset(c)
	for _, want := range []string{
		"create table inet npte-gw-router\n",
		`oifname "eth0" ip saddr 172.16.1.0/24 counter masquerade comment "npte:gw:router"`,
		`oifname "eth0" ip6 saddr fd00:1::/64 counter masquerade`,
		`iifname "if-router" oifname "eth0" ip saddr 172.16.1.0/24 counter accept`,
		`iifname "eth0" oifname "if-router" ip daddr 172.16.1.0/24 ct state established,related counter accept`,
		`iifname "if-router" counter drop`,
		`oifname "if-router" counter drop`,
	} {
		if !strings.Contains(host, want) {
			t.Errorf("host ruleset lacks %q:\n%s", want, host)
		}
	}
	// The drops come after the accepts.
	if strings.Index(host, "counter drop") < strings.LastIndex(host, "accept comment") {
		t.Error("a drop before an accept")
	}
	if !strings.Contains(nsRuleset(c), `oifname "if-host" counter masquerade`) {
		t.Error("namespace ruleset")
	}
	// Without --subnet6 no IPv6 rule is accepted: v6 through if-NS is dropped.
	if strings.Contains(hostRuleset(cfg("r", "10.0.0.0/24", "", "eth0", NFT)), "ip6") {
		t.Error("ip6 rule without a v6 subnet")
	}
}

func TestDestroyIsTolerant(t *testing.T) {
	p := Destroy("router")
	if _, ok := p.Steps[0].(plan.Lock); !ok {
		t.Fatal("destroy must take the lock first")
	}
	for _, c := range commands(p.Steps) {
		// The one plain command deletes the host link, and only when it
		// is recorded and carries npte's link group (IfOutput).
		if !c.Tolerant && strings.Join(c.Argv, " ") != "ip link del dev if-router" {
			t.Errorf("%v is not tolerant: destroy must work whatever survives", c.Argv)
		}
	}
	for _, s := range p.Steps {
		if _, ok := s.(plan.Probe); ok {
			t.Error("destroy has a guard; it must work whatever survives")
		}
	}
	if p.Undo != nil {
		t.Error("destroy has an undo")
	}
	if got := commands(p.Steps)[0].Stdin; got != "table inet npte-gw-router\ndelete table inet npte-gw-router\n" {
		t.Errorf("nft delete payload %q", got)
	}
}

// TestDestroyLinkOnlyWhenRecorded: the host link is deleted only inside a
// recorded branch, and only when it carries npte's link group; the branch
// for a gateway with no record deletes no link (issue 10 item 4).
func TestDestroyLinkOnlyWhenRecorded(t *testing.T) {
	var walk func(steps []plan.Step, recorded, grouped bool)
	dels := 0
	walk = func(steps []plan.Step, recorded, grouped bool) {
		for _, s := range steps {
			switch s := s.(type) {
			case plan.IfGatewayRecord:
				walk(s.Then, s.Firewall != "", grouped)
			case plan.IfOutput:
				g := strings.Contains(strings.Join(s.Argv, " "), "group "+netns.LinkGroup)
				walk(s.Then, recorded, g)
			case plan.IfNetns:
				walk(s.Then, recorded, grouped)
			case plan.Command:
				if len(s.Argv) > 2 && s.Argv[0] == "ip" && s.Argv[1] == "link" && (s.Argv[2] == "del" || s.Argv[2] == "delete") {
					dels++
					if !recorded || !grouped {
						t.Errorf("%v runs without a record (%v) or a group check (%v)", s.Argv, recorded, grouped)
					}
				}
			}
		}
	}
	walk(Destroy("wan").Steps, false, false)
	walk(netns.DestroySteps("wan"), false, false)
	if dels == 0 {
		t.Error("destroy never deletes the host link")
	}
}

func TestIptablesCreateAndDestroyMatch(t *testing.T) {
	// Every jump rule create adds is removed by destroy with the same
	// match; every chain create makes is flushed and deleted.
	c := cfg("lab1", "10.200.0.0/30", "fd00:200::/126", "enp1s0", IPTables)
	made := map[string]bool{}
	for _, cmd := range commands(Create(c).Steps) {
		a := strings.Join(cmd.Argv, " ")
		if i := strings.Index(a, " -A POSTROUTING "); i >= 0 {
			made[strings.Replace(a, " -A ", " -D ", 1)] = true
		}
		if i := strings.Index(a, " -I FORWARD "); i >= 0 {
			made[strings.Replace(a, " -I ", " -D ", 1)] = true
		}
		if i := strings.Index(a, " -N "); i >= 0 {
			made[strings.Replace(a, " -N ", " -X ", 1)] = true
		}
	}
	removed := map[string]bool{}
	for _, cmd := range commands(Destroy("lab1").Steps) {
		removed[strings.Join(cmd.Argv, " ")] = true
	}
	for m := range made {
		if !removed[m] {
			t.Errorf("create makes something destroy does not remove: %s", m)
		}
	}
}

func TestPlansRender(t *testing.T) {
	for _, p := range []plan.Plan{
		Create(cfg("r", "10.0.0.0/24", "fd00::/64", "eth0", NFT)),
		Create(cfg("r", "10.0.0.0/24", "fd00::/64", "eth0", IPTables)),
		Destroy("r"),
	} {
		if _, err := render.Script(p, render.Options{Version: "test"}); err != nil {
			t.Error(err)
		}
	}
}
