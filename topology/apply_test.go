package topology

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestApplyDirect: the plan of a new lab built straight from the lab
// (apply's direct path, what Apply does for a new lab) is the plan built
// from its list of changes, step for step, for every example, generated
// chains, stars, grids and trees (dual-stack, with an uplink, with
// static routes) and random forests (randomForestLab).
func TestApplyDirect(t *testing.T) {
	labs := exampleLabs(t)
	gen := []struct{ shape, extra string }{
		{"chain", "addressing: {ipv4: 10.0.0.0/12, ipv6: 'fd00:6e70::/48'}\n"},
		{"star", "addressing: {ipv4: 10.0.0.0/12, ipv6: 'fd00:6e70::/48'}\n"},
		{"grid", "addressing: {ipv4: 10.0.0.0/12}\n"},
		{"tree", "addressing: {ipv4: 10.0.0.0/13}\nuplink: {node: n0, iface: eth0, subnet: 192.168.77.0/24, subnet6: 'fd00:77::/64'}\n"},
		{"ring", "addressing: {ipv4: 10.0.0.0/14}\nstatic:\n  - {node: n1, to: 198.18.0.0/15, via: n0}\n"},
	}
	for _, g := range gen {
		l, err := LoadBytes(g.shape, genLab(g.shape, 30, g.extra))
		if err != nil {
			t.Fatal(err)
		}
		labs = append(labs, l)
	}
	rng := rand.New(rand.NewPCG(7, 14))
	for i := 0; i < 100; i++ {
		if l, err := LoadBytes("forest.yaml", randomForestLab(rng, i)); err == nil {
			labs = append(labs, l)
		}
	}
	argv := []string{"lab", "apply", "x.yaml"}
	for i, l := range labs {
		got := apply(l, nil, "/run/npte", argv, true)
		want := apply(l, nil, "/run/npte", argv, false)
		if !reflect.DeepEqual(got, want) {
			for k := range max(len(got.Steps), len(want.Steps)) {
				if k >= len(got.Steps) || k >= len(want.Steps) || !reflect.DeepEqual(got.Steps[k], want.Steps[k]) {
					var g, w any
					if k < len(got.Steps) {
						g = got.Steps[k]
					}
					if k < len(want.Steps) {
						w = want.Steps[k]
					}
					t.Fatalf("lab %d (%s): step %d: direct %#v, from the changes %#v", i, l.Name, k, g, w)
				}
			}
			t.Fatalf("lab %d (%s): plans differ", i, l.Name)
		}
	}
}
