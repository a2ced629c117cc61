package cli

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/npte/npte/gateway"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shape"
)

// TestHelpNamesPrograms: every verb's long help mentions each program its
// plan runs, the plan built with placeholder values, so that a builder
// that starts running a new program cannot leave its help behind.
func TestHelpNamesPrograms(t *testing.T) {
	prefix := netip.MustParsePrefix
	addr := netip.MustParseAddr
	route, err := netns.AddRoute("ns", "default", addr("fe80::1"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	run := func(sandbox bool) plan.Plan {
		return netns.RunPlan(netns.Run{Netns: "ns", User: "user", UID: "1000", Home: "/home/user", Sandbox: sandbox, Dir: "/w", Command: []string{"cmd"}})
	}
	spec, err := shape.ParseArgs([]string{"--delay", "10ms", "--rate", "1mbit"})
	if err != nil {
		t.Fatal(err)
	}
	profile := lab.Profiles()[0]
	labNetem, err := lab.Netem(&profile)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.Config{NS: "ns", Subnet: prefix("10.200.0.0/24"), Subnet6: prefix("fd00:200::/64"), Ext: "eth0", Firewall: gateway.NFT}
	gwIPT := gw
	gwIPT.Firewall = gateway.IPTables
	builtinCreate, builtinDestroy := builtinPlans()
	for _, tc := range []struct {
		verb  string
		help  interface{ Help() string }
		plans []plan.Plan
	}{
		{"netns create", &NetnsCreateCmd{}, []plan.Plan{netns.Create("ns", netns.DefaultDNS)}},
		{"netns destroy", &NetnsDestroyCmd{}, []plan.Plan{netns.Destroy("ns")}},
		{"netns connect", &NetnsConnectCmd{}, []plan.Plan{netns.Connect("left", "right")}},
		{"netns assign-addr", &NetnsAssignAddrCmd{}, []plan.Plan{netns.AssignAddr("ns", "iface", prefix("fd00::1/64"))}},
		{"netns add-route", &NetnsAddRouteCmd{}, []plan.Plan{route}},
		{"netns run", &NetnsRunCmd{}, []plan.Plan{run(false), run(true)}},
		{"netem apply", &NetemApplyCmd{}, []plan.Plan{shape.Apply("ns", "iface", shape.Both, spec)}},
		{"netem clear", &NetemClearCmd{}, []plan.Plan{shape.Clear("ns", "iface", shape.Both)}},
		{"lab create", &LabCreateCmd{}, []plan.Plan{builtinCreate}},
		{"lab destroy", &LabDestroyCmd{}, []plan.Plan{builtinDestroy}},
		{"lab netem", &LabNetemCmd{}, []plan.Plan{labNetem}},
		{"gateway create", &GatewayCreateCmd{}, []plan.Plan{gateway.Create(gw), gateway.Create(gwIPT)}},
		{"gateway destroy", &GatewayDestroyCmd{}, []plan.Plan{gateway.Destroy("ns")}},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			help := tc.help.Help()
			missing := map[string]bool{}
			for _, p := range tc.plans {
				for _, prog := range programs(p.Steps) {
					if !regexp.MustCompile(`(?:^|[^\w.-])` + regexp.QuoteMeta(prog) + `(?:$|[^\w.-]|\.(?:\s|$))`).MatchString(help) {
						missing[prog] = true
					}
				}
			}
			if len(missing) > 0 {
				var names []string
				for p := range missing {
					names = append(names, p)
				}
				sort.Strings(names)
				t.Errorf("npte %s --help does not mention %s, which its plan runs", tc.verb, strings.Join(names, ", "))
			}
		})
	}
}

// TestConnectHelpShowsLinkGroup: netns connect's help shows the veth
// command its plan runs, link group included (it once showed the command
// without "group 28272").
func TestConnectHelpShowsLinkGroup(t *testing.T) {
	help := (&NetnsConnectCmd{}).Help()
	want := "ip link add name if-RIGHT netns LEFT group 28272 type veth peer name if-LEFT netns"
	if !strings.Contains(help, want) || !strings.Contains(help, "RIGHT group 28272") {
		t.Errorf("netns connect --help lacks %q ... RIGHT group 28272:\n%s", want, help)
	}
}
