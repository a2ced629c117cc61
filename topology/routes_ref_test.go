package topology

// The reference route computation: the straightforward algorithm as it
// was before the performance work (one BFS per source, runs of netip.Addr
// ranges, recursive halving with copied slices, a sort that parses each
// destination), kept to check the faster one against (TestRoutesMatchReference).

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/npte/npte/validate"
)

type refRun struct {
	lo, hi netip.Addr
	label  int
}

func (g *graph) refBFS(s int, dist, hop, queue []int) {
	for i := range dist {
		dist[i], hop[i] = -1, -1
	}
	dist[s] = 0
	queue = append(queue[:0], s)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range g.adj[u] {
			if dist[e.to] >= 0 {
				continue
			}
			dist[e.to] = dist[u] + 1
			if u == s {
				hop[e.to] = e.to
			} else {
				hop[e.to] = hop[u]
			}
			queue = append(queue, e.to)
		}
	}
}

// referenceRoutes returns the routes the reference pass gives l (made
// from f, whose source is src), and the errors it finds (nil when none).
func referenceRoutes(f *File, src *source, l *Lab) ([]RouteSpec, error) {
	ref := *l
	ref.Routes = nil
	r := &resolver{src: src}
	r.refRoutes(f, &ref)
	if len(r.errs) > 0 {
		return ref.Routes, r.errs
	}
	return ref.Routes, nil
}

func (r *resolver) refRoutes(f *File, l *Lab) {
	g := newGraph(l)
	auto := f.Routes != "none"
	var dests []dest
	for _, lk := range l.Links {
		for _, p := range lk.Subnets {
			dests = append(dests, dest{p, []int{g.index[lk.A.Node], g.index[lk.B.Node]}})
		}
	}
	up := -1
	if l.Uplink != nil {
		up = g.index[l.Uplink.Node]
		dests = append(dests, dest{l.Uplink.Subnet, []int{up}})
		if l.Uplink.Subnet6.IsValid() {
			dests = append(dests, dest{l.Uplink.Subnet6, []int{up}})
		}
	}
	sort.Slice(dests, func(i, j int) bool { return prefixLess(dests[i].p, dests[j].p) })
	destKeys := make([]string, len(dests))
	for i, d := range dests {
		destKeys[i] = d.p.String()
	}

	// Explicit routes, checked.
	type skey struct {
		node int
		to   string
	}
	statics := map[skey]int{} // -> via index
	staticPath := map[skey]int{}
	var staticOrder []skey
	for i, s := range f.Static {
		n, ok := g.index[s.Node]
		if !ok {
			r.fail(fmt.Sprintf("static route %d: unknown node %q", i+1, s.Node), "static", i, "node")
			continue
		}
		v, ok := g.index[s.Via]
		if !ok {
			r.fail(fmt.Sprintf("static route %d: unknown node %q", i+1, s.Via), "static", i, "via")
			continue
		}
		if g.linkBetween(n, v) < 0 {
			r.fail(fmt.Sprintf("static route %d: %s is not a neighbour of %s (no link between them)", i+1, s.Via, s.Node), "static", i, "via")
			continue
		}
		to := s.To
		if to != "default" {
			p, err := validate.Subnet(s.To)
			if err != nil {
				r.fail(fmt.Sprintf("static route %d: %v", i+1, err), "static", i, "to")
				continue
			}
			to = p.String()
		}
		k := skey{n, to}
		if _, dup := statics[k]; dup {
			r.fail(fmt.Sprintf("static route %d: %s already has a static route to %s", i+1, s.Node, to), "static", i)
			continue
		}
		statics[k], staticPath[k] = v, i
		staticOrder = append(staticOrder, k)
	}
	if len(r.errs) > 0 {
		return
	}
	// Automatic next hops toward the destinations of static routes, for
	// the cycle check.
	staticDest := map[string]bool{}
	for _, k := range staticOrder {
		staticDest[k.to] = true
	}
	autoHop := map[skey]int{}

	n := len(g.names)
	dist, hop, queue := make([]int, n), make([]int, n), make([]int, 0, n)
	// What each destination needs, computed once.
	type dinfo struct {
		a, b   int // endpoints; b is -1 for the uplink's subnet
		v6     bool
		inPool bool
		lo, hi netip.Addr
	}
	infos := make([]dinfo, len(dests))
	for i, d := range dests {
		in := dinfo{a: d.at[0], b: -1, v6: d.p.Addr().Is6(), lo: d.p.Masked().Addr(), hi: lastAddr(d.p)}
		if len(d.at) > 1 {
			in.b = d.at[1]
		}
		pool := l.IPv4Pool
		if in.v6 {
			pool = l.IPv6Pool
		}
		in.inPool = pool.IsValid() && pool.Contains(d.p.Addr()) && d.p.Bits() >= pool.Bits()
		infos[i] = in
	}
	var runs4, runs6 []refRun // reused from node to node
	for s := 0; s < n; s++ {
		runs4, runs6 = runs4[:0], runs6[:0]
		if !auto && len(staticDest) == 0 {
			break
		}
		g.refBFS(s, dist, hop, queue)
		for di := range infos {
			d := &infos[di]
			// The label: -1 attached, -2 unreachable, else the neighbour
			// the shortest path to the nearer endpoint starts with.
			lb := -2
			if d.a == s || d.b == s {
				lb = -1
			} else {
				best := -1
				if dist[d.a] >= 0 {
					best = d.a
				}
				if d.b >= 0 && dist[d.b] >= 0 && (best < 0 || dist[d.b] < dist[best] || dist[d.b] == dist[best] && d.b < best) {
					best = d.b
				}
				if best >= 0 {
					lb = hop[best]
				}
			}
			if len(staticDest) > 0 && staticDest[destKeys[di]] {
				if lb >= 0 {
					autoHop[skey{s, destKeys[di]}] = lb
				}
				if _, ok := statics[skey{s, destKeys[di]}]; ok {
					lb = -1 // a static route replaces the automatic one
				}
			}
			if !auto || lb < 0 {
				continue
			}
			if !d.inPool {
				r.addRoute(l, g, s, lb, dests[di].p, d.v6, false)
				continue
			}
			runs := &runs4
			if d.v6 {
				runs = &runs6
			}
			if k := len(*runs); k > 0 && (*runs)[k-1].label == lb {
				(*runs)[k-1].hi = d.hi
				continue
			}
			*runs = append(*runs, refRun{d.lo, d.hi, lb})
		}
		if up >= 0 && s != up && dist[up] >= 0 {
			autoHop[skey{s, "default"}] = hop[up]
			if auto {
				r.addRoute(l, g, s, hop[up], netip.Prefix{}, false, false)
				if l.Uplink.Subnet6.IsValid() {
					r.addRoute(l, g, s, hop[up], netip.Prefix{}, true, false)
				}
			}
		}
		r.refCoverRuns(l, g, s, l.IPv4Pool, runs4)
		r.refCoverRuns(l, g, s, l.IPv6Pool, runs6)
	}
	for _, k := range staticOrder {
		if k.to == "default" {
			if auto && up >= 0 && k.node != up {
				// replaces the automatic default
				l.Routes = removeRoute(l.Routes, g.names[k.node], "default")
			}
			r.addRoute(l, g, k.node, statics[k], netip.Prefix{}, false, true)
			continue
		}
		p := netip.MustParsePrefix(k.to)
		r.addRoute(l, g, k.node, statics[k], p, p.Addr().Is6(), true)
	}
	// Cycles: follow the next hops toward each static destination from
	// every node.
	looped := map[string]bool{}
	for _, k := range staticOrder {
		for s := 0; s < n && !looped[k.to]; s++ {
			onPath := map[int]bool{}
			path := []string{}
			x := s
			for !onPath[x] {
				onPath[x] = true
				path = append(path, g.names[x])
				if v, ok := statics[skey{x, k.to}]; ok {
					x = v
				} else if v, ok := autoHop[skey{x, k.to}]; ok && auto {
					x = v
				} else {
					x = -1
					break
				}
			}
			if x >= 0 {
				path = append(path, g.names[x])
				r.fail(fmt.Sprintf("static route %d: routes to %s loop: %s", staticPath[k]+1, k.to, strings.Join(path, " -> ")), "static", staticPath[k])
				looped[k.to] = true
			}
		}
	}
	sort.SliceStable(l.Routes, func(i, j int) bool {
		a, b := l.Routes[i], l.Routes[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Via.Is6() != b.Via.Is6() {
			return !a.Via.Is6()
		}
		if a.To == "default" || b.To == "default" {
			return a.To == "default" && b.To != "default"
		}
		return prefixLess(netip.MustParsePrefix(a.To), netip.MustParsePrefix(b.To))
	})
}

func (r *resolver) refCoverRuns(l *Lab, g *graph, s int, p netip.Prefix, runs []refRun) {
	if len(runs) == 0 {
		return
	}
	mixed := false
	for _, x := range runs[1:] {
		mixed = mixed || x.label != runs[0].label
	}
	if !mixed {
		r.addRoute(l, g, s, runs[0].label, p, p.Addr().Is6(), false)
		return
	}
	if p.Bits() >= p.Addr().BitLen() {
		return // cannot happen: one address has one neighbour
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := nextPrefix(lo)
	loEnd := lastAddr(lo)
	var left, right []refRun
	for _, x := range runs {
		switch {
		case x.hi.Compare(loEnd) <= 0:
			left = append(left, x)
		case x.lo.Compare(loEnd) > 0:
			right = append(right, x)
		default: // crosses the middle
			left = append(left, refRun{x.lo, loEnd, x.label})
			right = append(right, refRun{hi.Addr(), x.hi, x.label})
		}
	}
	r.refCoverRuns(l, g, s, lo, left)
	r.refCoverRuns(l, g, s, hi, right)
}

func removeRoute(rs []RouteSpec, node, to string) []RouteSpec {
	out := rs[:0]
	for _, r := range rs {
		if !(r.Node == node && r.To == to && !r.Via.Is6()) {
			out = append(out, r)
		}
	}
	return out
}
