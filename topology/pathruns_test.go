package topology

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// randomForestLab writes a lab whose graph has no cycle: random trees
// (and, now and then, a second tree or an isolated node), nodes named in
// a random order, links written in a random order with random ends,
// some with explicit addresses outside the pool, sometimes dual-stack,
// an uplink and static routes to link subnets and to default.
func randomForestLab(rng *rand.Rand, i int) []byte {
	n := 2 + rng.IntN(40)
	name := rng.Perm(n)
	node := func(k int) string { return fmt.Sprintf("x%d", name[k]) }
	type link struct{ a, b int }
	var links []link
	for k := 1; k < n; k++ {
		if rng.IntN(12) == 0 {
			continue // a new component
		}
		j := rng.IntN(k)
		if k > 3 && rng.IntN(3) > 0 {
			j = k - 1 - rng.IntN(3) // long paths, as chains have
		}
		if rng.IntN(2) == 0 {
			links = append(links, link{j, k})
		} else {
			links = append(links, link{k, j})
		}
	}
	if rng.IntN(2) == 0 {
		rng.Shuffle(len(links), func(x, y int) { links[x], links[y] = links[y], links[x] })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: forest%d\n", i)
	dual := rng.IntN(3) == 0
	if dual {
		b.WriteString("addressing: {ipv4: 10.0.0.0/16, ipv6: 'fd00:6e70::/48'}\n")
	} else {
		b.WriteString("addressing: {ipv4: 10.0.0.0/16}\n")
	}
	b.WriteString("nodes:\n")
	for k := 0; k < n; k++ {
		fmt.Fprintf(&b, "  %s: {}\n", node(k))
	}
	b.WriteString("links:\n")
	var poolLinks []link // in pool order
	for k, lk := range links {
		if rng.IntN(6) == 0 {
			fmt.Fprintf(&b, "  - endpoints: [%s, %s]\n    addresses: {%s: 192.168.%d.1/24, %s: 192.168.%d.2/24}\n",
				node(lk.a), node(lk.b), node(lk.a), k, node(lk.b), k)
			continue
		}
		poolLinks = append(poolLinks, lk)
		fmt.Fprintf(&b, "  - [%s, %s]\n", node(lk.a), node(lk.b))
	}
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "uplink: {node: %s, iface: eth0, subnet: 172.31.0.0/24}\n", node(rng.IntN(n)))
	}
	if len(links) > 0 && rng.IntN(2) == 0 {
		b.WriteString("static:\n")
		seen := map[string]bool{}
		for k := 1 + rng.IntN(4); k > 0; k-- {
			lk := links[rng.IntN(len(links))]
			from, via := lk.a, lk.b
			if rng.IntN(2) == 0 {
				from, via = via, from
			}
			to := "default"
			if len(poolLinks) > 0 && rng.IntN(4) > 0 {
				to = fmt.Sprintf("10.0.%d.0/24", rng.IntN(len(poolLinks)))
			}
			if key := node(from) + " " + to; !seen[key] {
				seen[key] = true
				fmt.Fprintf(&b, "  - {node: %s, to: %s, via: %s}\n", node(from), to, node(via))
			}
		}
	}
	return []byte(b.String())
}

// TestPathRunsMatchReference: on 1500 random labs without cycles (see
// randomForestLab), the routes made through pathRuns (forced, whatever
// the length of the paths) are those of the labelling pass (pathRuns
// off) and those of the reference; errors (loops of static routes) are
// the same too.
func TestPathRunsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 42))
	used, loops := 0, 0
	for i := 0; i < 1500; i++ {
		data := randomForestLab(rng, i)
		f, src, err := parse("forest.yaml", data)
		if err != nil {
			t.Fatalf("%s\n%v", data, err)
		}
		paths, errPaths := resolveBudget(f, src, 1<<30)
		labelled, errLabelled := resolveBudget(f, src, -1)
		if fmt.Sprint(errPaths) != fmt.Sprint(errLabelled) {
			t.Fatalf("%s:\npathRuns: %v\nlabelled: %v", data, errPaths, errLabelled)
		}
		if errPaths != nil {
			loops++
			continue
		}
		if !reflect.DeepEqual(paths.Routes, labelled.Routes) {
			t.Fatalf("%s:\npathRuns: %+v\nlabelled: %+v", data, paths.Routes, labelled.Routes)
		}
		ref, err := referenceRoutes(f, src, labelled)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(paths.Routes, ref) {
			t.Fatalf("%s:\npathRuns:  %+v\nreference: %+v", data, paths.Routes, ref)
		}
		used++
	}
	if loops > 600 || used < 500 {
		t.Errorf("%d loops, %d compared with the reference: the generator is off", loops, used)
	}
	t.Logf("%d compared with the reference, %d refused (loops)", used, loops)
}

// TestLastAddr128: lastAddr128 is addr128 of lastAddr, for prefixes of
// every length of both families.
func TestLastAddr128(t *testing.T) {
	for _, base := range []string{"10.1.2.3", "255.255.255.255", "0.0.0.0", "fd00:6e70::1:2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"} {
		a := netip.MustParseAddr(base)
		for bits := 0; bits <= a.BitLen(); bits++ {
			p := netip.PrefixFrom(a, bits).Masked()
			if got, want := lastAddr128(p), addr128(lastAddr(p)); got != want {
				t.Errorf("%v: lastAddr128 %x, want %x", p, got, want)
			}
		}
	}
}
