package topology

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// genLab writes a lab file of the given shape ("chain", "star" or "grid")
// with about n nodes; extra is appended (addressing, uplink, static).
func genLab(shape string, n int, extra string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s%d\n", shape, n)
	b.WriteString(extra)
	b.WriteString("nodes:\n")
	var links [][2]string
	switch shape {
	case "chain":
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  n%d: {}\n", i)
			if i > 0 {
				links = append(links, [2]string{fmt.Sprintf("n%d", i-1), fmt.Sprintf("n%d", i)})
			}
		}
	case "star":
		b.WriteString("  hub: {}\n")
		for i := 0; i < n-1; i++ {
			fmt.Fprintf(&b, "  c%d: {}\n", i)
			links = append(links, [2]string{"hub", fmt.Sprintf("c%d", i)})
		}
	case "tree": // a binary tree
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  n%d: {}\n", i)
			if i > 0 {
				links = append(links, [2]string{fmt.Sprintf("n%d", (i-1)/2), fmt.Sprintf("n%d", i)})
			}
		}
	case "forest": // three chains, and an isolated node
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  n%d: {}\n", i)
			if i > 0 && (n < 7 || i%(n/3+1) != 0 && i != n-1) {
				links = append(links, [2]string{fmt.Sprintf("n%d", i-1), fmt.Sprintf("n%d", i)})
			}
		}
	case "ring": // a chain closed into a cycle, and a tail
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  n%d: {}\n", i)
			if i > 0 {
				links = append(links, [2]string{fmt.Sprintf("n%d", i-1), fmt.Sprintf("n%d", i)})
			}
		}
		if n > 3 {
			links = append(links, [2]string{"n0", fmt.Sprintf("n%d", n/2)})
		}
	case "grid":
		side := 1
		for side*side < n {
			side++
		}
		for r := 0; r < side; r++ {
			for c := 0; c < side; c++ {
				fmt.Fprintf(&b, "  r%dc%d: {}\n", r, c)
				if c > 0 {
					links = append(links, [2]string{fmt.Sprintf("r%dc%d", r, c-1), fmt.Sprintf("r%dc%d", r, c)})
				}
				if r > 0 {
					links = append(links, [2]string{fmt.Sprintf("r%dc%d", r-1, c), fmt.Sprintf("r%dc%d", r, c)})
				}
			}
		}
	}
	b.WriteString("links:\n")
	for _, l := range links {
		fmt.Fprintf(&b, "  - [%s, %s]\n", l[0], l[1])
	}
	return []byte(b.String())
}

// TestRoutesMatchReference checks the route computation against the
// straightforward reference (routes_ref_test.go) on generated chains,
// stars, trees, forests (with an isolated node), a cycle with a tail
// and grids of 2, 7 and 200 nodes, IPv4-only and dual-stack, with an uplink
// and static routes, and on every example: the same routes (node,
// destination, next hop, device), in the same order.
func TestRoutesMatchReference(t *testing.T) {
	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	for _, shape := range []string{"chain", "star", "grid", "tree", "forest", "ring"} {
		first := map[string]string{"chain": "n0", "star": "hub", "grid": "r0c0", "tree": "n0", "forest": "n0", "ring": "n0"}[shape]
		second := map[string]string{"chain": "n1", "star": "c0", "grid": "r0c1", "tree": "n1", "forest": "n1", "ring": "n1"}[shape]
		for _, v := range []struct{ name, extra string }{
			{"v4", "addressing: {ipv4: 10.0.0.0/8}\n"},
			{"dual", "addressing: {ipv4: 10.0.0.0/12, ipv6: 'fd00:6e70::/48'}\n"},
			{"uplink", "addressing: {ipv4: 10.0.0.0/13}\nuplink: {node: " + first + ", iface: eth0, subnet: 192.168.77.0/24, subnet6: 'fd00:77::/64'}\n"},
			{"static", "addressing: {ipv4: 10.0.0.0/14}\nroutes: auto\nstatic:\n  - {node: " + second + ", to: 198.18.0.0/15, via: " + first + "}\n  - {node: " + second + ", to: default, via: " + first + "}\n"},
			{"none", "addressing: {ipv4: 10.0.0.0/14}\nroutes: none\nstatic:\n  - {node: " + second + ", to: 198.18.0.0/15, via: " + first + "}\n"},
		} {
			for _, n := range []int{2, 7, 200} {
				cases = append(cases, tc{fmt.Sprintf("%s%d-%s", shape, n, v.name), genLab(shape, n, v.extra)})
			}
		}
	}
	// Two links between the same nodes: routes use the first.
	cases = append(cases, tc{"parallel", []byte("name: par\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - [a, b]\n" +
		"  - {endpoints: [b, c], ifaces: {b: x1, c: y1}}\n  - {endpoints: [c, b], ifaces: {b: x2, c: y2}}\n  - [c, a]\n")})
	for _, f := range examples(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{f, data})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, src, err := parse(c.name, c.data)
			if err != nil {
				t.Fatal(err)
			}
			l, err := resolve(f, src)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Routes) == 0 && !strings.Contains(c.name, "none") && len(l.Links) > 1 {
				t.Fatalf("no routes")
			}
			ref, err := referenceRoutes(f, src, l)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Routes, ref) {
				for i := range max(len(l.Routes), len(ref)) {
					var a, b RouteSpec
					if i < len(l.Routes) {
						a = l.Routes[i]
					}
					if i < len(ref) {
						b = ref[i]
					}
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("route %d: got %+v, reference %+v (%d vs %d routes)", i, a, b, len(l.Routes), len(ref))
					}
				}
			}
		})
	}
}

// TestRouteLoopsMatchReference: the loop check of static routes (one walk
// per node and destination, remembering where walks end) reports exactly
// what the reference (a fresh walk from every node for every static
// route) reports, on 600 random sets of static routes over chains and
// rings, with and without automatic routes.
func TestRouteLoopsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	loops := 0
	for i := 0; i < 600; i++ {
		shape := []string{"chain", "ring"}[i%2]
		n := 3 + rng.IntN(8)
		var st strings.Builder
		st.WriteString("addressing: {ipv4: 10.0.0.0/16}\n")
		if rng.IntN(2) == 0 {
			st.WriteString("routes: none\n")
		}
		st.WriteString("static:\n")
		for k := 1 + rng.IntN(6); k > 0; k-- {
			x := rng.IntN(n)
			via := x + 1
			if via == n || (x > 0 && rng.IntN(2) == 0) {
				via = x - 1
			}
			to := []string{"default", "10.9.0.0/16", "10.8.0.0/16"}[rng.IntN(3)]
			fmt.Fprintf(&st, "  - {node: n%d, to: %s, via: n%d}\n", x, to, via)
		}
		data := genLab(shape, n, st.String())
		f, src, err := parse("loops.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		_, got := resolve(f, src)
		// The reference, on the lab resolved without its static routes.
		bare := *f
		bare.Static = nil
		l, err := resolve(&bare, src)
		if err != nil {
			t.Fatal(err)
		}
		_, want := referenceRoutes(f, src, l)
		if want != nil {
			loops++
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s:\ngot  %v\nwant %v", data, got, want)
		}
	}
	if loops < 50 {
		t.Errorf("only %d of 600 random cases had a loop: the test does not exercise the check", loops)
	}
	t.Logf("%d of 600 random cases had a loop", loops)
}
