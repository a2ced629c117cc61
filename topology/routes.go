package topology

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/npte/npte/validate"
)

// graph is the lab's nodes and who neighbours whom.
type graph struct {
	names []string       // sorted
	index map[string]int // name -> index
	// adj[i] are i's neighbours, sorted by name, each with the first link
	// (in file order) between them.
	adj [][]edge
}

type edge struct {
	to   int
	link int
}

func newGraph(l *Lab) *graph {
	g := &graph{index: map[string]int{}}
	for i, n := range l.Nodes {
		g.names = append(g.names, n.Name)
		g.index[n.Name] = i
	}
	g.adj = make([][]edge, len(g.names))
	seen := map[[2]int]bool{}
	for li, lk := range l.Links {
		a, b := g.index[lk.A.Node], g.index[lk.B.Node]
		if seen[[2]int{a, b}] {
			continue
		}
		seen[[2]int{a, b}], seen[[2]int{b, a}] = true, true
		g.adj[a] = append(g.adj[a], edge{b, li})
		g.adj[b] = append(g.adj[b], edge{a, li})
	}
	for i := range g.adj {
		sort.Slice(g.adj[i], func(x, y int) bool { return g.adj[i][x].to < g.adj[i][y].to })
	}
	return g
}

// bfs returns, from s, each node's distance (-1: unreachable) and the
// neighbour of s the shortest path starts with (ties: the path found
// first when neighbours are visited in name order).
func (g *graph) bfs(s int, dist, hop, queue []int) {
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

// dest is one destination every node needs a route to: a link subnet or
// the uplink's, attached to the nodes in at.
type dest struct {
	p  netip.Prefix
	at []int
}

type routeItem struct {
	p     netip.Prefix
	label int // neighbour index, or -1 when attached
}

func (r *resolver) routes(f *File, l *Lab) {
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
	for s := 0; s < n; s++ {
		var v4, v6 []routeItem
		if auto || len(staticDest) > 0 {
			g.bfs(s, dist, hop, queue)
		}
		label := func(d dest) int {
			best := -1
			for _, a := range d.at {
				if a == s {
					return -1
				}
				if dist[a] >= 0 && (best < 0 || dist[a] < dist[best] || dist[a] == dist[best] && a < best) {
					best = a
				}
			}
			if best < 0 {
				return -2 // unreachable
			}
			return hop[best]
		}
		for _, d := range dests {
			lb := label(d)
			if staticDest[d.p.String()] && lb >= 0 {
				autoHop[skey{s, d.p.String()}] = lb
			}
			if !auto || lb == -2 {
				continue
			}
			it := routeItem{d.p, lb}
			if d.p.Addr().Is6() {
				v6 = append(v6, it)
			} else {
				v4 = append(v4, it)
			}
		}
		if up >= 0 && s != up && dist[up] >= 0 {
			autoHop[skey{s, "default"}] = hop[up]
			if auto {
				r.addRoute(l, g, s, hop[up], "default", false, false)
				if l.Uplink.Subnet6.IsValid() {
					r.addRoute(l, g, s, hop[up], "default", true, false)
				}
			}
		}
		// Static routes to a link subnet replace its automatic label.
		for i := range v4 {
			if _, ok := statics[skey{s, v4[i].p.String()}]; ok {
				v4[i].label = -1 // emitted as a static route below
			}
		}
		for i := range v6 {
			if _, ok := statics[skey{s, v6[i].p.String()}]; ok {
				v6[i].label = -1
			}
		}
		r.cover(l, g, s, l.IPv4Pool, v4)
		r.cover(l, g, s, l.IPv6Pool, v6)
	}
	for _, k := range staticOrder {
		if k.to == "default" {
			if auto && up >= 0 && k.node != up {
				// replaces the automatic default
				l.Routes = removeRoute(l.Routes, g.names[k.node], "default")
			}
			r.addRoute(l, g, k.node, statics[k], "default", false, true)
			continue
		}
		p := netip.MustParsePrefix(k.to)
		r.addRoute(l, g, k.node, statics[k], k.to, p.Addr().Is6(), true)
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

func removeRoute(rs []RouteSpec, node, to string) []RouteSpec {
	out := rs[:0]
	for _, r := range rs {
		if !(r.Node == node && r.To == to && !r.Via.Is6()) {
			out = append(out, r)
		}
	}
	return out
}

func (g *graph) linkBetween(a, b int) int {
	for _, e := range g.adj[a] {
		if e.to == b {
			return e.link
		}
	}
	return -1
}

// addRoute adds, on node s, a route to `to` via neighbour v, over the
// first link between them. A neighbour without an address of the family
// on that link gets no route.
func (r *resolver) addRoute(l *Lab, g *graph, s, v int, to string, v6, static bool) {
	li := g.linkBetween(s, v)
	lk := l.Links[li]
	mine, theirs := lk.A, lk.B
	if lk.A.Node != g.names[s] {
		mine, theirs = lk.B, lk.A
	}
	via := famAddr(theirs.Addrs, v6)
	if !via.IsValid() {
		return
	}
	l.Routes = append(l.Routes, RouteSpec{Node: g.names[s], To: to, Via: via.Addr(), Dev: mine.Iface, Static: static})
}

// cover adds the routes of node s for the destinations items (sorted),
// aggregated inside the pool: a prefix of the pool whose destinations all
// go through one neighbour (or are attached to s) becomes one route.
// Destinations outside the pool get a route each.
func (r *resolver) cover(l *Lab, g *graph, s int, pool netip.Prefix, items []routeItem) {
	var in []routeItem
	for _, it := range items {
		if pool.IsValid() && pool.Contains(it.p.Addr()) && it.p.Bits() >= pool.Bits() {
			in = append(in, it)
		} else if it.label >= 0 {
			r.addRoute(l, g, s, it.label, it.p.String(), it.p.Addr().Is6(), false)
		}
	}
	if len(in) > 0 {
		r.coverIn(l, g, s, pool, in)
	}
}

func (r *resolver) coverIn(l *Lab, g *graph, s int, p netip.Prefix, items []routeItem) {
	label, mixed := -1, false
	minBits := 128
	for _, it := range items {
		if it.p.Bits() < minBits {
			minBits = it.p.Bits()
		}
		if it.label < 0 {
			continue
		}
		if label >= 0 && it.label != label {
			mixed = true
		}
		label = it.label
	}
	if label < 0 {
		return
	}
	if !mixed {
		r.addRoute(l, g, s, label, p.String(), p.Addr().Is6(), false)
		return
	}
	if p.Bits() >= minBits {
		for _, it := range items {
			if it.label >= 0 {
				r.addRoute(l, g, s, it.label, it.p.String(), it.p.Addr().Is6(), false)
			}
		}
		return
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := nextPrefix(lo)
	split := sort.Search(len(items), func(i int) bool { return !lo.Contains(items[i].p.Addr()) })
	if split > 0 {
		r.coverIn(l, g, s, lo, items[:split])
	}
	if split < len(items) && hi.IsValid() {
		r.coverIn(l, g, s, hi, items[split:])
	}
}
