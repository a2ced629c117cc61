package lab_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shape"
)

// TestCreateIsComposed pins that lab create is one lock followed only by
// the netns verbs' step builders, in order, with the guards of all three
// namespaces before the first change.
func TestCreateIsComposed(t *testing.T) {
	want := []plan.Step{plan.Lock{}}
	for _, n := range []string{"client", "router", "server"} {
		want = append(want, netns.CreateGuards(n)...)
	}
	for _, n := range []string{"client", "router", "server"} {
		want = append(want, netns.CreateActions(n, netns.DefaultDNS)...)
	}
	want = append(want, netns.ConnectSteps("client", "router")...)
	want = append(want, netns.ConnectSteps("server", "router")...)
	want = append(want, netns.AssignAddrSteps("client", "if-router", lab.ClientAddr)...)
	want = append(want, netns.AssignAddrSteps("router", "if-client", lab.RouterClientAddr)...)
	want = append(want, netns.AssignAddrSteps("server", "if-router", lab.ServerAddr)...)
	want = append(want, netns.AssignAddrSteps("router", "if-server", lab.RouterServerAddr)...)
	want = append(want, netns.AddRouteSteps("client", "default", lab.RouterClientAddr.Addr(), "")...)
	want = append(want, netns.AddRouteSteps("server", "default", lab.RouterServerAddr.Addr(), "")...)
	p := lab.Create()
	got := p.Steps
	if n, ok := got[len(got)-1].(plan.Note); ok && strings.Contains(n.Text, "172.16.1.0/24") {
		got = got[:len(got)-1]
	} else {
		t.Errorf("last step %#v, want the gateway note", got[len(got)-1])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lab create is not the composition of the netns builders:\n%#v", got)
	}
	if strings.Join(p.Undo, " ") != "lab destroy" {
		t.Errorf("undo %q", p.Undo)
	}
	if lab.ClientAddr.String() != "172.16.3.2/24" || lab.RouterClientAddr.String() != "172.16.3.1/24" ||
		lab.ServerAddr.String() != "172.16.2.2/24" || lab.RouterServerAddr.String() != "172.16.2.1/24" ||
		lab.GatewaySubnet.String() != "172.16.1.0/24" {
		t.Error("addressing plan changed")
	}
}

func countLocks(steps []plan.Step) int {
	n := 0
	for _, s := range steps {
		switch s := s.(type) {
		case plan.Lock:
			n++
		case plan.IfOwned:
			n += countLocks(s.Then)
		case plan.IfNetns:
			n += countLocks(s.Then)
		}
	}
	return n
}

func TestOneLock(t *testing.T) {
	plans := []plan.Plan{lab.Create(), lab.Destroy()}
	for _, pr := range lab.Profiles() {
		p, err := lab.Netem(&pr)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	clear, _ := lab.Netem(nil)
	plans = append(plans, clear)
	for _, p := range plans {
		if _, ok := p.Steps[0].(plan.Lock); !ok || countLocks(p.Steps) != 1 {
			t.Errorf("%q: want exactly one lock, first", p.Argv)
		}
	}
}

func TestDestroy(t *testing.T) {
	want := []plan.Step{plan.Lock{}}
	for _, n := range []string{"client", "server", "router"} {
		want = append(want, plan.IfOwned{Name: n, Then: netns.DestroySteps(n)})
	}
	if got := lab.Destroy().Steps; !reflect.DeepEqual(got, want) {
		t.Errorf("lab destroy:\n%#v", got)
	}
}

func TestProfiles(t *testing.T) {
	names := lab.ProfileNames()
	for _, want := range []string{"4g-bloated", "4g-managed", "3g", "edge", "dsl", "cable", "satellite", "wifi"} {
		if _, err := lab.FindProfile(want); err != nil {
			t.Errorf("profile %s missing: %v", want, err)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("profiles not sorted: %q", names)
		}
	}
	for _, p := range lab.Profiles() {
		down, up, err := p.Specs()
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if p.Source == "" || p.Description == "" {
			t.Errorf("%s: no source or description", p.Name)
		}
		for dir, s := range map[string]shape.Spec{"down": down, "up": up} {
			if s.Delay == nil {
				t.Errorf("%s %s: no delay", p.Name, dir)
			}
			// Exactly one of a netem rate and a child carries the cap:
			// a rate inside netem would starve a child AQM of backlog.
			if (s.Rate != nil) == (s.Child != "") {
				t.Errorf("%s %s: want exactly one of --rate and --child", p.Name, dir)
			}
			if len(s.Tree().Warnings) != 0 {
				t.Errorf("%s %s: warnings %q", p.Name, dir, s.Tree().Warnings)
			}
		}
	}
	_, err := lab.FindProfile("lte")
	if err == nil || !strings.Contains(err.Error(), strings.Join(names, ", ")) {
		t.Errorf("unknown profile: %v", err)
	}
	sat, _ := lab.FindProfile("satellite")
	down, _, _ := sat.Specs()
	if tr := down.Tree(); !strings.Contains(strings.Join(tr.Root, " "), "limit 1300") || len(tr.Notes) != 1 {
		t.Errorf("satellite downlink: want the limit raised to 1300, got %q %q", tr.Root, tr.Notes)
	}
}

func TestNetemPlan(t *testing.T) {
	p, err := lab.Netem(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Argv, " ") != "lab netem" {
		t.Errorf("argv %q", p.Argv)
	}
	var lines []string
	for _, s := range p.Steps {
		if c, ok := s.(plan.Command); ok {
			lines = append(lines, strings.Join(c.Argv, " "))
		}
	}
	want := []string{
		"tc -n router qdisc del dev if-client root", "tc -n router qdisc del dev if-client ingress", "ip -n router link del dev ifb-if-client",
		"tc -n router qdisc del dev if-server root", "tc -n router qdisc del dev if-server ingress", "ip -n router link del dev ifb-if-server",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("clear:\n%s", strings.Join(lines, "\n"))
	}
}

// linkWorld is a fidelity.World that remembers the interfaces made by
// `ip link add` (veth pairs and ifb devices), so that the probes of a
// composite plan see what its earlier steps made, as they do live.
func linkWorld(initial ...string) fidelity.World {
	links := map[string]bool{}
	for _, l := range initial {
		links[l] = true
	}
	return func(argv []string) int {
		a := strings.Join(argv, " ")
		switch {
		case len(argv) >= 14 && argv[0] == "ip" && argv[1] == "link" && argv[2] == "add":
			// ip link add name L netns A group G type veth peer name R netns B group G
			links[argv[6]+"/"+argv[4]] = true
			links[argv[15]+"/"+argv[13]] = true
		case len(argv) == 9 && argv[0] == "ip" && argv[3] == "link" && argv[4] == "add":
			links[argv[2]+"/"+argv[6]] = true
		case len(argv) == 7 && argv[0] == "ip" && argv[3] == "link" && argv[4] == "show":
			if links[argv[2]+"/"+argv[6]] {
				return 0
			}
			return 1
		case strings.HasPrefix(a, "modprobe"):
			return 1 // as on this machine: no modules
		}
		return 0
	}
}

// check runs npte ARGS live and as a script, each with a fresh world, and
// compares programs, exit class and markers.
func check(t *testing.T, s fidelity.Setup, world func() fidelity.World, args ...string) fidelity.Result {
	t.Helper()
	live := fidelity.Live(t, s, world(), args...)
	sh, script := fidelity.Script(t, s, world(), args...)
	if script == "" {
		t.Fatalf("npte %s --dry-run failed: %s", strings.Join(args, " "), sh.Stderr)
	}
	var a, b []string
	for _, e := range live.Events {
		a = append(a, e.String())
	}
	for _, e := range sh.Events {
		b = append(b, e.String())
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("npte %s: live and script differ\n--- live\n%s\n--- script\n%s", strings.Join(args, " "), strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if (live.Exit == 0) != (sh.Exit == 0) || (live.Exit == 2) != (sh.Exit == 2) {
		t.Errorf("npte %s: live exit %d, script exit %d\n%s\n%s", strings.Join(args, " "), live.Exit, sh.Exit, live.Stderr, sh.Stderr)
	}
	if live.State != sh.State {
		t.Errorf("npte %s: state live %q, script %q", strings.Join(args, " "), live.State, sh.State)
	}
	return live
}

func TestFidelityCreate(t *testing.T) {
	// The one-command-per-step form: each address and route is an event
	// (batched, they are lines of ip -n NS -batch -; see package batch).
	r := check(t, fidelity.Setup{}, func() fidelity.World { return linkWorld() }, "lab", "create", "--no-batch")
	if r.Exit != 0 {
		t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
	}
	if r.State != "lab/builtin lab/builtin/digest:65 lab/builtin/lab.json:743 netns/client netns/router netns/server" {
		t.Errorf("state %q", r.State)
	}
	var ips []string
	for _, e := range r.Events {
		if e.Argv[0] == "ip" && (strings.Contains(e.String(), "addr replace") || strings.Contains(e.String(), "route replace")) {
			ips = append(ips, e.String())
		}
	}
	want := []string{
		"ip -n client addr replace 172.16.3.2/24 dev if-router",
		"ip -n router addr replace 172.16.3.1/24 dev if-client",
		"ip -n server addr replace 172.16.2.2/24 dev if-router",
		"ip -n router addr replace 172.16.2.1/24 dev if-server",
		"ip -n client route replace default via 172.16.3.1 dev if-router",
		"ip -n server route replace default via 172.16.2.1 dev if-router",
	}
	if !reflect.DeepEqual(ips, want) {
		t.Errorf("addressing:\n%s", strings.Join(ips, "\n"))
	}
}

func TestFidelityCreateHalfWay(t *testing.T) {
	// A foreign namespace "server" makes create refuse before any change
	// (the guards of all three names come first).
	r := check(t, fidelity.Setup{Foreign: []string{"server"}}, func() fidelity.World { return linkWorld() }, "lab", "create")
	if r.Exit != 2 || r.State != "" || len(r.Events) != 0 {
		t.Fatalf("exit %d, state %q, ran %v", r.Exit, r.State, r.Events)
	}
	// A half-built lab (client and router made, then the run stopped):
	// lab destroy removes exactly client and router.
	d := check(t, fidelity.Setup{Managed: []string{"client", "router"}, Foreign: []string{"server"}},
		func() fidelity.World { return linkWorld() }, "lab", "destroy")
	if d.Exit != 0 || d.State != "" {
		t.Fatalf("destroy: exit %d, state %q: %s", d.Exit, d.State, d.Stderr)
	}
	var dels []string
	for _, e := range d.Events {
		dels = append(dels, e.String())
	}
	want := []string{"rm -rf -- /etc/netns/client", "ip -n client link delete group 28272", "ip netns del client",
		"rm -rf -- /etc/netns/router", "ip -n router link delete group 28272", "ip netns del router"}
	if !reflect.DeepEqual(dels, want) {
		t.Errorf("destroy ran:\n%s", strings.Join(dels, "\n"))
	}
	if !strings.Contains(d.Stderr, "server: not managed by npte, skipped") {
		t.Errorf("stderr %q", d.Stderr)
	}
}

func TestFidelityDestroyIntents(t *testing.T) {
	d := check(t, fidelity.Setup{Managed: []string{"client"}, Intents: []string{"router"}},
		func() fidelity.World { return linkWorld() }, "lab", "destroy")
	if d.Exit != 0 || d.State != "" {
		t.Fatalf("exit %d, state %q", d.Exit, d.State)
	}
	e := check(t, fidelity.Setup{}, func() fidelity.World { return linkWorld() }, "lab", "destroy")
	if e.Exit != 0 || len(e.Events) != 0 {
		t.Fatalf("no lab: exit %d, events %v", e.Exit, e.Events)
	}
}

func TestFidelityNetem(t *testing.T) {
	world := func() fidelity.World { return linkWorld("router/if-client", "router/if-server") }
	s := fidelity.Setup{Managed: []string{"router"}}
	for _, name := range append(lab.ProfileNames(), "") {
		args := []string{"lab", "netem"}
		if name != "" {
			args = append(args, "--profile", name)
		}
		r := check(t, s, world, args...)
		if r.Exit != 0 {
			t.Errorf("%q: exit %d: %s", args, r.Exit, r.Stderr)
		}
	}
	// Without the router's links: refused before any change.
	r := check(t, s, func() fidelity.World { return linkWorld("router/if-client") }, "lab", "netem", "--profile", "3g")
	if r.Exit != 2 || len(r.Events) != 2 {
		t.Errorf("missing uplink: exit %d, events %v", r.Exit, r.Events)
	}
}
