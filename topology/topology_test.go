package topology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/render"
)

func examples(t testing.TB) []string {
	fs, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(fs) < 6 {
		t.Fatalf("examples: %v %v", fs, err)
	}
	return fs
}

func TestExamplesResolve(t *testing.T) {
	for _, f := range examples(t) {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Each bad file is refused with an error at the given line:column whose
// message holds the given text.
func TestBadFiles(t *testing.T) {
	const head = "name: t\nnodes:\n  a: {}\n  b: {}\n  c: {}\n"
	for _, tc := range []struct {
		name, file, pos, msg string
	}{
		{"unknown top key", "name: t\nnodez: {}\n", "2:1", `unknown field "nodez"`},
		{"unknown node key", "name: t\nnodes:\n  a: {dnss: []}\n", "3:7", `unknown field "dnss"`},
		{"unknown link key", head + "links:\n  - endpoints: [a, b]\n    shap: {}\n", "8:5", `unknown field "shap"`},
		{"unknown shape knob", head + "links:\n  - endpoints: [a, b]\n    shape:\n      a->b: {delai: 1ms}\n", "9:14", `unknown shaping key "delai"`},
		{"duplicate node", "name: t\nnodes:\n  a: {}\n  a: {}\n", "4:3", "already defined"},
		{"syntax", "name: t\nnodes: [\n", "2:8", ""},
		{"not a mapping", "- a\n- b\n", "1:1", "mapping"},
		{"bad lab name", "name: Lab\nnodes:\n  a: {}\n", "1:7", "lowercase"},
		{"bad node name", "name: t\nnodes:\n  Aa: {}\n", "3:7", "namespace name"},
		{"node name too long", "name: t\nnodes:\n  abcdefghijklm: {}\n", "3:18", "at most 12"},
		{"unknown node in short link", head + "links:\n  - [a, z]\n", "7:9", `unknown node "z"`},
		{"unknown node in long link", head + "links:\n  - endpoints: [z, a]\n", "7:17", `unknown node "z"`},
		{"self link", head + "links:\n  - [a, a]\n", "7:5", "to itself"},
		{"three endpoints", head + "links:\n  - [a, b, c]\n", "7:5", "exactly two"},
		{"duplicate link", head + "links:\n  - [a, b]\n  - [b, a]\n", "8:5", "two interfaces named"},
		{"iface too long", head + "links:\n  - endpoints: [a, b]\n    ifaces: {a: abcdefghijklmnop}\n", "8:17", "15"},
		{"kind", head + "links:\n  - endpoints: [a, b]\n    kind: vxlan\n", "8:11", "only veth"},
		{"overlap", head + "links:\n  - endpoints: [a, b]\n    addresses: {a: 10.0.0.1/24, b: 10.0.0.2/24}\n  - endpoints: [b, c]\n    addresses: {b: 10.0.0.129/25, c: 10.0.0.130/25}\n", "10:16", "overlaps"},
		{"overlap uplink", head + "links:\n  - endpoints: [a, b]\n    addresses: {a: 172.16.1.1/24, b: 172.16.1.2/24}\nuplink: {node: a, iface: eth0, subnet: 172.16.1.0/24}\n", "9:40", "overlaps"},
		{"one-sided address", head + "links:\n  - endpoints: [a, b]\n    addresses: {a: 10.0.0.1/24}\n", "8:16", "both ends"},
		{"unknown profile", head + "links:\n  - endpoints: [a, b]\n    shape:\n      a->b: {profile: nope}\n", "9:13", `profile "nope"`},
		{"bad shape", head + "links:\n  - endpoints: [a, b]\n    shape:\n      a->b: {rate: fast}\n", "9:20", "rate"},
		{"bad direction", head + "links:\n  - endpoints: [a, b]\n    shape:\n      a->c: {delay: 1ms}\n", "9:13", "direction"},
		{"route cycle", head + "links:\n  - [a, b]\n  - [b, c]\nroutes: none\nstatic:\n  - {node: a, to: 10.9.0.0/16, via: b}\n  - {node: b, to: 10.9.0.0/16, via: a}\n", "11:5", "loop"},
		{"route cycle with auto", head + "links:\n  - [a, b]\n  - [b, c]\nstatic:\n  - {node: b, to: 172.16.1.0/24, via: a}\n", "10:5", "loop"},
		{"static via non-neighbour", head + "links:\n  - [a, b]\n  - [b, c]\nstatic:\n  - {node: a, to: default, via: c}\n", "10:33", "not a neighbour"},
		{"routes word", head + "routes: some\n", "6:9", "auto or none"},
		{"pool too narrow", "name: t\naddressing: {ipv4: 10.0.0.0/25}\nnodes:\n  a: {}\n", "2:20", "/24 or wider"},
		{"pool exhausted", "name: t\naddressing: {ipv4: 10.0.0.0/24}\nnodes:\n  a: {}\n  b: {}\n  c: {}\nlinks:\n  - [a, b]\n  - [b, c]\n", "2:13", "no /24 left"},
		{"host", "name: t\nnodes:\n  a: {host: far}\n", "3:13", "multi-host"},
		{"dns", "name: t\nnodes:\n  a: {dns: [nope]}\n", "3:13", "IP address"},
		{"uplink node", "name: t\nnodes:\n  a: {}\nuplink: {node: z, iface: eth0, subnet: 172.16.1.0/24}\n", "4:16", "unknown node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBytes("lab.yaml", []byte(tc.file))
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v (%T), want Errors", err, err)
			}
			e := es[0]
			if got := fmt.Sprintf("%d:%d", e.Line, e.Column); got != tc.pos {
				t.Errorf("position %s, want %s: %v", got, tc.pos, err)
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q does not say %q", e.Msg, tc.msg)
			}
			if e.Snippet == "" || !strings.Contains(e.Error(), "lab.yaml:"+tc.pos+": ") {
				t.Errorf("no snippet or position in %q", e.Error())
			}
		})
	}
}

func TestAllocationAndRoutes(t *testing.T) {
	l, err := Load("../examples/dumbbell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Pool /24s in link order, skipping none; the explicit link keeps its own.
	want := []string{"172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "172.16.9.0/24"}
	for i, lk := range l.Links {
		if got := lk.Subnets[0].String(); got != want[i] {
			t.Errorf("link %d subnet %s, want %s", i, got, want[i])
		}
	}
	if a := l.Links[0].A.Addrs[0].String(); a != "172.16.0.1/24" {
		t.Errorf("first end %s", a)
	}
	// Every node reaches the lab through one aggregated route.
	var got []string
	for _, r := range l.Routes {
		got = append(got, r.Node+" "+r.To+" via "+r.Via.String())
	}
	wantR := "c1 172.16.0.0/16 via 172.16.0.2|c2 172.16.0.0/16 via 172.16.1.2|r1 172.16.0.0/16 via 172.16.2.2|r2 172.16.0.0/16 via 172.16.2.1|srv 172.16.0.0/16 via 172.16.9.1"
	if strings.Join(got, "|") != wantR {
		t.Errorf("routes\n%s\nwant\n%s", strings.Join(got, "|"), wantR)
	}
	// The uplink's subnet is skipped by the pool.
	u, err := Load("../examples/uplink.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s := u.Links[1].Subnets[0].String(); s != "172.16.2.0/24" {
		t.Errorf("second link of uplink.yaml got %s, want 172.16.2.0/24 (172.16.1.0/24 is the uplink's)", s)
	}
}

// In a chain, the shortest path decides; ties go to the smaller name.
func TestRoutesShortestPathTies(t *testing.T) {
	// a square a-b, a-c, b-d, c-d: from a, d's subnets are 2 hops via b or c; b wins.
	l, err := LoadBytes("sq", []byte("name: sq\nnodes: {a: {}, b: {}, c: {}, d: {}}\nlinks:\n  - [a, c]\n  - [a, b]\n  - [c, d]\n  - [b, d]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Routes {
		if r.Node == "a" && strings.HasPrefix(r.To, "172.16.2.") {
			if r.Dev != "if-c" {
				t.Errorf("a reaches c-d's subnet %s through %s, want if-c (c is adjacent to c-d)", r.To, r.Dev)
			}
		}
		if r.Node == "a" && strings.HasPrefix(r.To, "172.16.3.") && r.Dev != "if-b" {
			t.Errorf("a reaches b-d through %s", r.Dev)
		}
	}
	// Every destination is reachable from every node: simulate forwarding.
	simulate(t, l)
}

// simulate follows the routes hop by hop from every node to every
// address in the lab and fails on a loop or a dead end.
func simulate(t *testing.T, l *Lab) {
	t.Helper()
	type hop struct{ node, iface string }
	owner := map[string]string{} // addr -> node
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			for _, a := range e.Addrs {
				owner[a.Addr().String()] = e.Node
			}
		}
	}
	for _, n := range l.Nodes {
		for addr, dst := range owner {
			at := n.Name
			for steps := 0; at != dst; steps++ {
				if steps > len(l.Nodes) {
					t.Fatalf("%s -> %s: loop", n.Name, addr)
				}
				next := nextHop(l, at, addr)
				if next == "" {
					t.Fatalf("%s -> %s: no route at %s", n.Name, addr, at)
				}
				at = next
			}
		}
	}
}

func nextHop(l *Lab, at, addr string) string {
	// connected?
	best, bestBits := "", -1
	for _, lk := range l.Links {
		for _, e := range [][2]End{{lk.A, lk.B}, {lk.B, lk.A}} {
			if e[0].Node != at {
				continue
			}
			for _, p := range e[0].Addrs {
				if p.Masked().Contains(mustAddr(addr)) && p.Bits() > bestBits {
					best, bestBits = e[1].Node, p.Bits()
					// the destination is on this link: deliver to its owner
					for _, q := range e[1].Addrs {
						if q.Addr().String() == addr {
							return e[1].Node
						}
					}
				}
			}
		}
	}
	if bestBits >= 0 {
		return best
	}
	for _, r := range l.Routes {
		if r.Node != at || r.To == "default" {
			continue
		}
		p := mustPrefix(r.To)
		if p.Contains(mustAddr(addr)) && p.Bits() > bestBits {
			bestBits = p.Bits()
			best = ownerOf(l, r.Via.String())
		}
	}
	return best
}

func ownerOf(l *Lab, a string) string {
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			for _, p := range e.Addrs {
				if p.Addr().String() == a {
					return e.Node
				}
			}
		}
	}
	return ""
}

func TestSimulateExamples(t *testing.T) {
	for _, f := range examples(t) {
		l, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f, "builtin") {
			continue // default routes only
		}
		simulate(t, l)
	}
	simulate(t, chain(t, 25))
}

func chain(t testing.TB, n int) *Lab {
	l, err := LoadBytes("chain", ChainFile(n))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDiff(t *testing.T) {
	a, _ := Load("../examples/dumbbell.yaml")
	if cs := Diff(a, a); len(cs) != 0 {
		t.Errorf("diff of a lab with itself: %v", cs)
	}
	data, _ := os.ReadFile("../examples/dumbbell.yaml")
	changed := bytes.Replace(data, []byte("delay: 20ms"), []byte("delay: 30ms"), 1)
	changed = bytes.Replace(changed, []byte("srv: {dns: [172.16.9.53]}"), []byte("srv: {dns: [172.16.9.54]}\n  c3: {}"), 1)
	changed = append(changed, []byte("links2: 0\n")...)
	changed = bytes.Replace(changed, []byte("links2: 0\n"), nil, 1)
	changed = bytes.Replace(changed, []byte("  - [c2, r1]\n"), []byte("  - [c2, r1]\n  - [c3, r1]\n"), 1)
	b, err := LoadBytes("changed", changed)
	if err != nil {
		t.Fatal(err)
	}
	got := FormatDiff("dumbbell", Diff(a, b))
	for _, w := range []string{
		"~ node srv: dns 172.16.9.53 -> dns 172.16.9.54",
		"+ node c3",
		"+ link c3:if-r1 -- r1:if-c3 (veth)",
		"~ shape r1 if-r2: delay 20ms, rate 10mbit -> delay 30ms, rate 10mbit",
		"- address r1 if-r2 172.16.2.1/24",
		"+ address r1 if-r2 172.16.3.1/24",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("diff misses %q:\n%s", w, got)
		}
	}
	// The plan of the change holds no step for what did not change.
	p := Apply(b, a, "/run/npte", []string{"lab", "apply", "x"})
	s, err := render.Script(p, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(s, "ip netns add ") != 1 || strings.Contains(s, "link add name if-r1 netns c1") {
		t.Errorf("change plan rebuilds what exists:\n%s", s)
	}
	// Nothing to change: only guards.
	p = Apply(a, a, "/run/npte", nil)
	for _, st := range p.Steps {
		switch st.(type) {
		case interface{ Refusal() string }:
		default:
			if n := fmt.Sprintf("%T", st); n != "plan.Lock" && n != "plan.RequireNoSymlink" && n != "plan.RequireManaged" && n != "plan.Note" {
				t.Errorf("empty change plan has a %s", n)
			}
		}
	}
}

func TestGraphDot(t *testing.T) {
	dot, err := exec.LookPath("dot")
	for _, f := range examples(t) {
		l, _ := Load(f)
		for _, format := range []string{FormatDOT, FormatMermaid} {
			g, gerr := Graph(l, format)
			if gerr != nil || !strings.Contains(g, l.Nodes[0].Name) {
				t.Fatalf("%s %s: %v\n%s", f, format, gerr, g)
			}
			if format == FormatDOT {
				if err != nil {
					if os.Getenv("CI") != "" {
						t.Fatal("graphviz (dot) is not installed, and CI must check the DOT (.ci/run installs graphviz)")
					}
					t.Skip("graphviz (dot) is not installed; CI installs it")
				}
				cmd := exec.Command(dot, "-Tsvg")
				cmd.Stdin = strings.NewReader(g)
				if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("<svg")) {
					t.Errorf("dot -Tsvg of %s: %v\n%s", f, err, out)
				}
			}
		}
	}
	if _, err := Graph(chain(t, 3), "png"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestSchema(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	for _, k := range []string{"name", "addressing", "nodes", "links", "routes", "static", "uplink"} {
		if _, ok := props[k]; !ok {
			t.Errorf("schema lacks %s", k)
		}
	}
	if s["additionalProperties"] != false {
		t.Error("unknown keys are not refused by the schema")
	}
	// The shipped copy is current.
	shipped, err := os.ReadFile("testdata/lab.schema.json")
	if err != nil || !bytes.Equal(shipped, Schema()) {
		if os.Getenv("NPTE_UPDATE") != "" {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile("testdata/lab.schema.json", Schema(), 0o644)
			return
		}
		t.Errorf("testdata/lab.schema.json is stale (NPTE_UPDATE=1 go test ./topology rewrites it)")
	}
}

func TestPlanJSONStable(t *testing.T) {
	l, _ := Load("../examples/dualstack.yaml")
	p := Apply(l, nil, "/run/npte", []string{"lab", "apply", "dualstack.yaml"})
	a, b := PlanJSON(p), PlanJSON(p)
	if !bytes.Equal(a, b) {
		t.Fatal("plan JSON is not stable")
	}
	var v struct {
		Steps []map[string]any
	}
	if err := json.Unmarshal(a, &v); err != nil {
		t.Fatal(err)
	}
	if v.Steps[0]["type"] != "Lock" {
		t.Errorf("first step %v", v.Steps[0])
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, f := range examples(t) {
		l, _ := Load(f)
		back, err := DecodeRecord(l.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if len(Diff(l, back)) != 0 || back.Digest() != l.Digest() {
			t.Errorf("%s: record does not round-trip: %v", f, Diff(l, back))
		}
	}
}

func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
