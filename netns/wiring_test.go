package netns_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/validate"
)

// commands returns the argv of every Command step, joined by spaces.
func commands(steps []plan.Step) []string {
	var out []string
	for _, s := range steps {
		if c, ok := s.(plan.Command); ok {
			out = append(out, strings.Join(c.Argv, " "))
		}
	}
	return out
}

func TestLinkName(t *testing.T) {
	for _, n := range []string{"a", "client", "abcdefghijkl"} {
		l := netns.LinkName(n)
		if l != "if-"+n {
			t.Errorf("LinkName(%q) = %q", n, l)
		}
		if err := validate.IfaceName(l); err != nil {
			t.Errorf("LinkName(%q) = %q is not a valid interface name: %v", n, l, err)
		}
	}
}

func TestConnect(t *testing.T) {
	p := netns.Connect("client", "router")
	if want := []string{"netns", "connect", "client", "router"}; !reflect.DeepEqual(p.Argv, want) {
		t.Errorf("Argv = %q, want %q", p.Argv, want)
	}
	want := []plan.Step{
		plan.Lock{},
		plan.RequireManaged{Name: "client"},
		plan.RequireManaged{Name: "router"},
		plan.Probe{Argv: []string{"ip", "-n", "client", "link", "show", "dev", "if-router"}, Message: "client already has an interface if-router (are client and router already connected?)"},
		plan.Probe{Argv: []string{"ip", "-n", "router", "link", "show", "dev", "if-client"}, Message: "router already has an interface if-client (are client and router already connected?)"},
		plan.Command{Argv: []string{"ip", "link", "add", "name", "if-router", "netns", "client", "group", "28272", "type", "veth", "peer", "name", "if-client", "netns", "router", "group", "28272"}},
		plan.Command{Argv: []string{"ip", "-n", "client", "link", "set", "dev", "if-router", "up"}},
		plan.Command{Argv: []string{"ip", "-n", "router", "link", "set", "dev", "if-client", "up"}},
	}
	if !reflect.DeepEqual(p.Steps, want) {
		t.Errorf("Steps =\n%#v\nwant\n%#v", p.Steps, want)
	}
	// The pair is created in one command with both ends placed: no step
	// ever creates an interface in the caller's (host) namespace.
	for _, c := range commands(p.Steps) {
		if strings.Contains(c, "link add") && !strings.Contains(c, "netns client") {
			t.Errorf("veth end created outside its namespace: %s", c)
		}
		if strings.Contains(c, "link set") && !strings.HasPrefix(c, "ip -n ") {
			t.Errorf("link moved or set outside a namespace: %s", c)
		}
	}
}

func TestAssignAddr(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		want string
	}{
		{"172.16.3.2/24", "ip -n client addr replace 172.16.3.2/24 dev if-router"},
		{"10.0.0.0/8", "ip -n client addr replace 10.0.0.0/8 dev if-router"},
		{"192.0.2.1/32", "ip -n client addr replace 192.0.2.1/32 dev if-router"},
		{"fd00:3::2/64", "ip -n client addr replace fd00:3::2/64 dev if-router nodad"},
		{"2001:DB8::1/128", "ip -n client addr replace 2001:db8::1/128 dev if-router nodad"},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			p := netns.AssignAddr("client", "if-router", netip.MustParsePrefix(tc.cidr))
			if netip.MustParsePrefix(tc.cidr).Addr().Is6() {
				// IPv6: the kernel-has-IPv6 guard comes before the change.
				if len(p.Steps) != 5 || !reflect.DeepEqual(p.Steps[3], netns.RequireIPv6()) {
					t.Fatalf("want Lock, RequireManaged, Probe, RequireIPv6, Command; got %#v", p.Steps)
				}
				p.Steps = append(p.Steps[:3:3], p.Steps[4])
			}
			if len(p.Steps) != 4 {
				t.Fatalf("want Lock, RequireManaged, RequireIface, Command; got %#v", p.Steps)
			}
			if _, ok := p.Steps[0].(plan.Lock); !ok {
				t.Errorf("first step is %T, want Lock", p.Steps[0])
			}
			if s, ok := p.Steps[1].(plan.RequireManaged); !ok || s.Name != "client" {
				t.Errorf("second step is %#v, want RequireManaged client", p.Steps[1])
			}
			if s, ok := p.Steps[2].(plan.RequireIface); !ok || s != (plan.RequireIface{NS: "client", Iface: "if-router"}) {
				t.Errorf("third step is %#v, want RequireIface client if-router", p.Steps[2])
			}
			if got := commands(p.Steps); len(got) != 1 || got[0] != tc.want {
				t.Errorf("commands = %q, want %q", got, tc.want)
			}
			if p.Argv[len(p.Argv)-1] != netip.MustParsePrefix(tc.cidr).String() {
				t.Errorf("Argv = %q", p.Argv)
			}
		})
	}
}

func TestAddRoute(t *testing.T) {
	for _, tc := range []struct {
		dest, via, dev string
		argv           string
		cmd            string
		probe          bool
	}{
		{"default", "172.16.3.1", "", "netns add-route client default 172.16.3.1", "ip -n client route replace default via 172.16.3.1", false},
		{"172.16.2.0/24", "172.16.3.1", "", "netns add-route client 172.16.2.0/24 172.16.3.1", "ip -n client route replace 172.16.2.0/24 via 172.16.3.1", false},
		{"default", "fd00:3::1", "", "netns add-route client default fd00:3::1", "ip -n client -6 route replace default via fd00:3::1", false},
		{"default", "fe80::1", "if-router", "netns add-route --dev if-router client default fe80::1", "ip -n client -6 route replace default via fe80::1 dev if-router", true},
		{"10.9.0.0/16", "172.16.3.1", "if-router", "netns add-route --dev if-router client 10.9.0.0/16 172.16.3.1", "ip -n client route replace 10.9.0.0/16 via 172.16.3.1 dev if-router", true},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			p := netns.AddRoute("client", tc.dest, netip.MustParseAddr(tc.via), tc.dev)
			if got := strings.Join(p.Argv, " "); got != tc.argv {
				t.Errorf("Argv = %q, want %q", got, tc.argv)
			}
			if got := commands(p.Steps); len(got) != 1 || got[0] != tc.cmd {
				t.Errorf("commands = %q, want %q", got, tc.cmd)
			}
			probes, v6 := 0, 0
			for _, s := range p.Steps {
				if pr, ok := s.(plan.Probe); ok && pr.Message == netns.NoIPv6 {
					v6++
				} else if ok {
					t.Errorf("probe %#v", pr)
				}
				if ri, ok := s.(plan.RequireIface); ok {
					probes++
					if ri != (plan.RequireIface{NS: "client", Iface: tc.dev}) {
						t.Errorf("interface guard %#v", ri)
					}
				}
			}
			if (probes == 1) != tc.probe || probes > 1 {
				t.Errorf("%d probes, want probe=%v", probes, tc.probe)
			}
			if want := map[bool]int{true: 1, false: 0}[netip.MustParseAddr(tc.via).Is6()]; v6 != want {
				t.Errorf("%d IPv6 guards, want %d", v6, want)
			}
		})
	}
}

// The *Steps variants take no lock, so that composite plans hold one.
func TestWiringStepsTakeNoLock(t *testing.T) {
	for name, steps := range map[string][]plan.Step{
		"connect":     netns.ConnectSteps("a", "b"),
		"assign-addr": netns.AssignAddrSteps("a", "if-b", netip.MustParsePrefix("10.0.0.1/24")),
		"add-route":   netns.AddRouteSteps("a", "default", netip.MustParseAddr("10.0.0.2"), "if-b"),
	} {
		for _, s := range steps {
			switch s.(type) {
			case plan.Lock, plan.Unlock:
				t.Errorf("%s: step %T in a *Steps list", name, s)
			}
		}
	}
}

func BenchmarkConnect(b *testing.B) {
	for b.Loop() {
		_ = netns.Connect("client", "router")
	}
}
