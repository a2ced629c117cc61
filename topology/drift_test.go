package topology

import (
	"os"
	"strings"
	"testing"

	"github.com/google/shlex"

	"github.com/npte/npte/render"
	"github.com/npte/npte/shape"
)

// TestDriftShapingAsKnobs checks Drift's shaping comparison against tc
// -j output recorded on the user-mode Linux 6.1 kernel
// (shape/testdata/tcjson): a tree npte built from the recorded flags is
// no drift, even where the record spells a knob otherwise than the
// kernel's read-back ("random 1%", a distribution the kernel does not
// report); other shaping, missing shaping and shaping on an unshaped end
// are drift, with the kernel's and the record's values.
func TestDriftShapingAsKnobs(t *testing.T) {
	cases := map[string]string{} // name -> flags, from uml-cases.txt
	b, err := os.ReadFile("../shape/testdata/tcjson/uml-cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, flags, ok := strings.Cut(l, "|"); ok && !strings.HasPrefix(l, "#") {
			cases[name] = flags
		}
	}
	fixture := func(name string) []byte {
		b, err := os.ReadFile("../shape/testdata/tcjson/uml-" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	recorded := func(name string) []string {
		if name == "" {
			return nil
		}
		args, err := shlex.Split(cases[name])
		if err != nil {
			t.Fatal(err)
		}
		s, err := shape.ParseArgs(args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s.Args()
	}
	// The fixtures shape device x of namespace ns.
	noqueue := []byte(`[{"kind":"noqueue","handle":"0:","dev":"x","root":true,"refcnt":2,"options":{}}]`)
	for _, c := range []struct {
		name     string
		record   string // uml-cases.txt line whose flags the record holds ("" unshaped)
		kernel   []byte
		drift    bool
		contains []string
	}{
		{name: "jitter with reorder", record: "jitter", kernel: fixture("jitter")},
		{name: "pareto, not reported by the kernel", record: "jitterdist", kernel: fixture("jitterdist")},
		{name: "every netem knob", record: "full", kernel: fixture("full")},
		{name: "loss 1% (random)", record: "profile-wifi-down", kernel: fixture("profile-wifi-down")},
		{name: "netem and fq_codel child", record: "delayfqcodel", kernel: fixture("delayfqcodel")},
		{name: "root tbf", record: "tbf1500k", kernel: fixture("tbf1500k")},
		{name: "unshaped", kernel: noqueue},
		{name: "other delay", record: "delayfqcodel", kernel: fixture("jitter"), drift: true,
			contains: []string{"node ns: x is shaped [--delay 10ms 2ms 25% --reorder 25% 50% gap 5], the record [--delay 10ms --child fq_codel]"}},
		{name: "shaping removed", record: "tbf1500k", kernel: noqueue, drift: true,
			contains: []string{"node ns: x is shaped [], the record [--rate 1500kbit]"}},
		{name: "shaping added", kernel: fixture("delayfqcodel"), drift: true,
			contains: []string{"node ns: x is shaped [--delay 10ms --child fq_codel], the record []"}},
		{name: "kernel default fq_codel", kernel: []byte(`[{"kind":"fq_codel","handle":"0:","dev":"x","root":true,"refcnt":2,"options":{"limit":10240,"flows":1024,"quantum":1514,"target":0.005,"interval":0.1,"memory_limit":33554432,"ecn":true,"drop_batch":64}}]`)},
		{name: "netem added by hand", kernel: []byte(`[{"kind":"netem","handle":"8004:","dev":"x","root":true,"refcnt":2,"options":{"limit":1000,"delay":{"delay":0.007,"jitter":0,"correlation":0},"ecn":false,"gap":0}}]`), drift: true,
			contains: []string{"node ns: x is shaped [netem 8004: (foreign)], the record []"}},
		{name: "ingress added", record: "tbf1500k", kernel: fixture("ingressnetem"), drift: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := &Lab{
				Name:  "l",
				Nodes: []NodeSpec{{Name: "ns"}, {Name: "peer"}},
				Links: []LinkSpec{{Kind: KindVeth, A: End{Node: "ns", Iface: "x", ShapeArgs: recorded(c.record)}, B: End{Node: "peer", Iface: "y"}}},
			}
			kernel := map[string]NodeState{
				"ns":   {Addr: []byte(`[{"ifname":"lo","addr_info":[]},{"ifname":"x","addr_info":[]}]`), Qdisc: c.kernel},
				"peer": {Addr: []byte(`[{"ifname":"y","addr_info":[]}]`), Qdisc: []byte(`[]`)},
			}
			got, err := Drift(l, kernel)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0) != c.drift {
				t.Fatalf("drift %q, want drift: %v", got, c.drift)
			}
			for _, want := range c.contains {
				if len(got) != 1 || got[0] != want {
					t.Errorf("drift %q, want [%q]", got, want)
				}
			}
		})
	}
}

// TestRefreshRestoresDrift checks that Refresh takes each drifted
// address and egress shaping from the kernel, so that the plan of the
// unchanged file restores the record (and keeps the guard on the
// record's digest), and that a kernel without drift refreshes to no
// change.
func TestRefreshRestoresDrift(t *testing.T) {
	l, err := LoadBytes("t.yaml", []byte("name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a, b]\n    shape:\n      a->b: {rate: 1500kbit}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tbf, err := os.ReadFile("../shape/testdata/tcjson/uml-tbf1500k.json")
	if err != nil {
		t.Fatal(err)
	}
	tbfA := []byte(strings.ReplaceAll(string(tbf), `"dev":"x"`, `"dev":"if-b"`))
	addrs := func(iface, addr string) []byte {
		return []byte(`[{"ifname":"lo","addr_info":[]},{"ifname":"` + iface + `","addr_info":[{"local":"` + addr + `","prefixlen":24},{"local":"fe80::1","prefixlen":64}]}]`)
	}
	clean := map[string]NodeState{
		"a": {Addr: addrs("if-b", "172.16.0.1"), Qdisc: tbfA},
		"b": {Addr: addrs("if-a", "172.16.0.2"), Qdisc: []byte(`[{"kind":"noqueue","handle":"0:","dev":"if-a","root":true,"options":{}}]`)},
	}
	if d, err := Drift(l, clean); err != nil || len(d) != 0 {
		t.Fatalf("Drift of the applied lab: %q %v", d, err)
	}
	r, err := Refresh(l, clean)
	if err != nil || len(Diff(r, l)) != 0 || r.Digest() != l.Digest() {
		t.Fatalf("Refresh without drift: %v, diff %v", err, Diff(r, l))
	}
	drifted := map[string]NodeState{
		"a": {Addr: addrs("if-b", "172.16.0.9"), Qdisc: []byte(`[{"kind":"noqueue","handle":"0:","dev":"if-b","root":true,"options":{}}]`)},
		"b": {Addr: addrs("if-a", "172.16.0.2"), Qdisc: []byte(`[{"kind":"netem","handle":"8004:","dev":"if-a","root":true,"options":{"limit":1000,"delay":{"delay":0.007,"jitter":0,"correlation":0},"ecn":false,"gap":0}}]`)},
	}
	r, err = Refresh(l, drifted)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range Diff(r, l) {
		got = append(got, c.String())
	}
	want := []string{
		"- shape b if-a (kernel [netem 8004: (foreign)])",
		"- address a if-b 172.16.0.9/24",
		"+ address a if-b 172.16.0.1/24",
		"+ shape a if-b (rate 1500kbit)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Diff(Refresh(record), file):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Digest() != l.Digest() {
		t.Errorf("Refresh changed the digest the plan guards the record with")
	}
	script, err := render.Script(Apply(l, r, "/run/npte", []string{"lab", "apply", "t.yaml"}), render.Options{Version: "(test)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{l.Digest(), "tc -n b qdisc del dev if-a root", "ip -n a addr del 172.16.0.9/24 dev if-b",
		"addr replace 172.16.0.1/24 dev if-b", "qdisc add dev if-b root handle 1: tbf rate 1500kbit"} {
		if !strings.Contains(script, w) {
			t.Errorf("the plan of the unchanged file lacks %q:\n%s", w, script)
		}
	}
}
