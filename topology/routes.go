package topology

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
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
	// start and to are adj without the links, flat (CSR): i's
	// neighbours are to[start[i]:start[i+1]], the form the BFS walks.
	start, to []int32
}

type edge struct {
	to   int
	link int
}

func newGraph(l *Lab) *graph {
	g := &graph{index: make(map[string]int, len(l.Nodes)), names: make([]string, 0, len(l.Nodes))}
	for i, n := range l.Nodes {
		g.names = append(g.names, n.Name)
		g.index[n.Name] = i
	}
	// Each node's edges are a segment of one slab: counted, then filled
	// in link order.
	n := len(g.names)
	at := make([]int32, n+1)
	ends := make([][2]int, len(l.Links))
	for li, lk := range l.Links {
		a, b := g.index[lk.A.Node], g.index[lk.B.Node]
		ends[li] = [2]int{a, b}
		at[a+1]++
		at[b+1]++
	}
	for i := range n {
		at[i+1] += at[i]
	}
	slab := make([]edge, at[n])
	fill := slices.Clone(at[:n])
	for li, e := range ends {
		a, b := e[0], e[1]
		slab[fill[a]] = edge{b, li}
		fill[a]++
		slab[fill[b]] = edge{a, li}
		fill[b]++
	}
	g.adj = make([][]edge, n)
	g.start = make([]int32, n+1)
	for i := range n {
		es := slab[at[i]:at[i+1]:at[i+1]]
		// By neighbour; of several links to one neighbour, the first
		// (the sort is stable: links were added in file order).
		slices.SortStableFunc(es, func(x, y edge) int { return x.to - y.to })
		es = slices.CompactFunc(es, func(x, y edge) bool { return x.to == y.to })
		g.adj[i] = es
		g.start[i+1] = g.start[i] + int32(len(es))
	}
	g.to = make([]int32, 0, g.start[n])
	for i := range g.adj {
		for _, e := range g.adj[i] {
			g.to = append(g.to, int32(e.to))
		}
	}
	return g
}

// bfs returns, from s, each node's distance (-1: unreachable) and the
// neighbour of s the shortest path starts with (ties: the path found
// first when neighbours are visited in name order).
func (g *graph) bfs(s int, dist, hop, queue []int32) {
	for i := range dist {
		dist[i], hop[i] = -1, -1
	}
	dist[s] = 0
	queue = append(queue[:0], int32(s))
	for _, v := range g.to[g.start[s]:g.start[s+1]] {
		if dist[v] < 0 {
			dist[v], hop[v] = 1, v
			queue = append(queue, v)
		}
	}
	for qi := 1; qi < len(queue); qi++ {
		u := queue[qi]
		du, hu := dist[u]+1, hop[u]
		for _, v := range g.to[g.start[u]:g.start[u+1]] {
			if dist[v] < 0 {
				dist[v], hop[v] = du, hu
				queue = append(queue, v)
			}
		}
	}
}

// dest is one destination every node needs a route to: a link subnet or
// the uplink's, attached to the nodes in at.
type dest struct {
	p  netip.Prefix
	at []int
}

func (r *resolver) routes(f *File, l *Lab) {
	g := newGraph(l)
	auto := f.Routes != "none"
	nd := 2
	for _, lk := range l.Links {
		nd += len(lk.Subnets)
	}
	dests := make([]dest, 0, nd)
	ats := make([]int, 0, 2*nd) // the endpoints of all, one allocation
	for _, lk := range l.Links {
		for _, p := range lk.Subnets {
			ats = append(ats, g.index[lk.A.Node], g.index[lk.B.Node])
			dests = append(dests, dest{p, ats[len(ats)-2:]})
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
	slices.SortFunc(dests, func(a, b dest) int { return prefixCmp(a.p, b.p) })
	// About the number of prefixes the routes name: the destinations and
	// the aggregates of a few of them each.
	r.names = make(map[netip.Prefix]string, 3*len(dests))
	destKeys := make([]string, len(dests))
	for i, d := range dests {
		destKeys[i] = r.prefixName(d.p)
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
	dist, hop, queue := make([]int32, n), make([]int32, n), make([]int32, 0, n)
	// What each destination needs, computed once: its endpoints (b is -1
	// for the uplink's subnet), its class, and its first and last
	// address (for the runs). The destinations of each class are listed
	// apart (in destination order), and those attached to each node
	// (CSR: attached[attStart[s]:attStart[s+1]]), so that the loop over
	// the destinations of a node is one tight pass that labels them all,
	// then one pass per class over the labels.
	da, db := make([]int32, len(dests)), make([]int32, len(dests))
	var byClass [2][]int32 // pool4, pool6
	var lone, staticIdx []int32
	attStart := make([]int32, n+1)
	cv := &cover{r: r, l: l, g: g, lo: make([]u128, len(dests)), hi: make([]u128, len(dests))}
	for i, d := range dests {
		da[i], db[i] = int32(d.at[0]), -1
		attStart[d.at[0]+1]++
		if len(d.at) > 1 {
			db[i] = int32(d.at[1])
			attStart[d.at[1]+1]++
		}
		if staticDest[destKeys[i]] {
			staticIdx = append(staticIdx, int32(i))
		}
		v6 := d.p.Addr().Is6()
		pool := l.IPv4Pool
		if v6 {
			pool = l.IPv6Pool
		}
		switch {
		case !pool.IsValid() || !pool.Contains(d.p.Addr()) || d.p.Bits() < pool.Bits():
			lone = append(lone, int32(i))
		case v6:
			byClass[1] = append(byClass[1], int32(i))
		default:
			byClass[0] = append(byClass[0], int32(i))
		}
		cv.lo[i], cv.hi[i] = addr128(d.p.Masked().Addr()), addr128(lastAddr(d.p))
	}
	for i := range n {
		attStart[i+1] += attStart[i]
	}
	attached, fill := make([]int32, attStart[n]), slices.Clone(attStart[:n])
	for i := range dests {
		attached[fill[da[i]]] = int32(i)
		fill[da[i]]++
		if db[i] >= 0 {
			attached[fill[db[i]]] = int32(i)
			fill[db[i]]++
		}
	}
	// labels[di] is destination di's label from the node at hand: -1
	// attached (or replaced by a static route), -2 unreachable, else the
	// neighbour the shortest path to the nearer endpoint starts with.
	labels := make([]int32, len(dests))
	var runs [2][]run    // by class, reused from node to node
	tree := newForest(g) // nil: a BFS from each node
	var pos []int32      // in a lab without cycles: the preorder number of a
	if tree != nil {
		pos = make([]int32, len(dests))
		for i, a := range da {
			pos[i] = tree.tin[a]
		}
	}
	// In a tree, the runs come from the paths between consecutive
	// destinations (pathRuns), unless those are too long.
	var pr *pathRuns
	if tree != nil && auto {
		budget := 16 * (n + len(dests))
		if r.pathBudget != 0 {
			budget = r.pathBudget // tests
		}
		if budget >= 0 {
			pr = newPathRuns(tree, da, byClass, budget)
		}
	}
	var skip []int32
	replaced := make([]bool, len(dests))
	for s := 0; s < n; s++ {
		runs[0], runs[1] = runs[0][:0], runs[1][:0]
		if !auto && len(staticDest) == 0 {
			break
		}
		s32 := int32(s)
		if pr != nil {
			// The label of a destination, as in the pass below.
			label := func(di int32) int32 {
				if da[di] == s32 || db[di] == s32 {
					return -1
				}
				return tree.hop(s32, da[di])
			}
			skip = append(skip[:0], attached[attStart[s]:attStart[s+1]]...)
			for _, di := range staticIdx {
				if lb := label(di); lb >= 0 {
					autoHop[skey{s, destKeys[di]}] = int(lb)
				}
				if _, ok := statics[skey{s, destKeys[di]}]; ok {
					skip = append(skip, di) // a static route replaces the automatic one
					replaced[di] = true
				}
			}
			for _, di := range lone {
				if lb := label(di); lb >= 0 && !replaced[di] {
					r.addRoute(l, g, s, int(lb), dests[di].p, dests[di].p.Addr().Is6(), false)
				}
			}
			for _, di := range staticIdx {
				replaced[di] = false
			}
			for c := range runs {
				runs[c] = pr.runs(s32, c, skip, da, runs[c])
			}
		} else if tree != nil {
			// In a tree the label is the hop toward a (forest.hop,
			// inlined): the path from s to the farther endpoint runs
			// through the nearer one, so both start with the same hop.
			// a is below s when its number is in (tin, tout] of s, in
			// s's component when it is in [tin, tout] of its root
			// (preorder numbers a component's nodes in one range).
			sTin, sOut, sParent := tree.tin[s], tree.tout[s], tree.parent[s]
			root := tree.comp[s]
			cLo, cHi := tree.tin[root], tree.tout[root]
			below, width := uint32(sOut-sTin), uint32(cHi-cLo)
			for di, p := range pos {
				lb := sParent
				if uint32(p-sTin-1) < below {
					lb = tree.child(s32, p)
				}
				if uint32(p-cLo) > width {
					lb = -2
				}
				labels[di] = lb
			}
		} else {
			g.bfs(s, dist, hop, queue)
			for di, a := range da {
				b := db[di]
				best := int32(-1)
				if dist[a] >= 0 {
					best = a
				}
				if b >= 0 && dist[b] >= 0 && (best < 0 || dist[b] < dist[best] || dist[b] == dist[best] && b < best) {
					best = b
				}
				lb := int32(-2)
				if best >= 0 {
					lb = hop[best]
				}
				labels[di] = lb
			}
		}
		if pr == nil {
			for _, di := range attached[attStart[s]:attStart[s+1]] {
				labels[di] = -1
			}
			for _, di := range staticIdx {
				if lb := labels[di]; lb >= 0 {
					autoHop[skey{s, destKeys[di]}] = int(lb)
				}
				if _, ok := statics[skey{s, destKeys[di]}]; ok {
					labels[di] = -1 // a static route replaces the automatic one
				}
			}
			if auto {
				for _, di := range lone {
					if lb := labels[di]; lb >= 0 {
						r.addRoute(l, g, s, int(lb), dests[di].p, dests[di].p.Addr().Is6(), false)
					}
				}
				for c, idx := range byClass {
					rs := runs[c]
					for _, di := range idx {
						lb := labels[di]
						if lb < 0 {
							continue
						}
						if k := len(rs); k > 0 && rs[k-1].label == lb {
							rs[k-1].last = di
							continue
						}
						rs = append(rs, run{di, di, lb})
					}
					runs[c] = rs
				}
			}
		}
		upHop := int32(-1) // the neighbour toward the uplink's node
		switch {
		case up < 0 || s == up:
		case tree != nil:
			upHop = tree.hop(s32, int32(up))
		case dist[up] >= 0:
			upHop = hop[up]
		}
		if upHop >= 0 {
			autoHop[skey{s, "default"}] = int(upHop)
			if auto {
				r.addRoute(l, g, s, int(upHop), netip.Prefix{}, false, false)
				if l.Uplink.Subnet6.IsValid() {
					r.addRoute(l, g, s, int(upHop), netip.Prefix{}, true, false)
				}
			}
		}
		cv.s = s
		cv.runs(l.IPv4Pool, runs[0])
		cv.runs(l.IPv6Pool, runs[1])
		if s == n/16 && s > 0 {
			// Room for the routes of all nodes at the rate so far: a
			// large lab's routes grow once, not a dozen times.
			if want := len(l.Routes)/(s+1)*n*5/4 + 16; want > cap(l.Routes) {
				l.Routes = append(make([]RouteSpec, 0, want), l.Routes...)
				r.routeTo = append(make([]netip.Prefix, 0, want), r.routeTo...)
			}
		}
	}
	for _, k := range staticOrder {
		if k.to == "default" {
			if auto && up >= 0 && k.node != up {
				// replaces the automatic default
				r.removeDefault(l, g.names[k.node])
			}
			r.addRoute(l, g, k.node, statics[k], netip.Prefix{}, false, true)
			continue
		}
		p := netip.MustParsePrefix(k.to)
		r.addRoute(l, g, k.node, statics[k], p, p.Addr().Is6(), true)
	}
	// Cycles: follow the next hops toward each static destination from
	// every node, in order; the first walk that comes back to a node of
	// its own is the loop reported. Walks are deterministic, so a node
	// whose walk ended (no next hop) is remembered and never walked again:
	// O(nodes) per destination, not O(nodes^2) per static route.
	checked := map[string]bool{}
	ends := make([]bool, n)
	stamp := make([]int, n)
	var walk []int
	for _, k := range staticOrder {
		if checked[k.to] {
			continue
		}
		checked[k.to] = true
		clear(ends)
		clear(stamp)
		for s := 0; s < n; s++ {
			walk = walk[:0]
			x := s
			for x >= 0 && !ends[x] && stamp[x] != s+1 {
				stamp[x] = s + 1
				walk = append(walk, x)
				if v, ok := statics[skey{x, k.to}]; ok {
					x = v
				} else if v, ok := autoHop[skey{x, k.to}]; ok && auto {
					x = v
				} else {
					x = -1
				}
			}
			if x >= 0 && !ends[x] {
				path := make([]string, 0, len(walk)+1)
				for _, w := range walk {
					path = append(path, g.names[w])
				}
				path = append(path, g.names[x])
				r.fail(fmt.Sprintf("static route %d: routes to %s loop: %s", staticPath[k]+1, k.to, strings.Join(path, " -> ")), "static", staticPath[k])
				break
			}
			for _, w := range walk {
				ends[w] = true
			}
		}
	}
	sortRoutes(l.Routes, r.routeTo)
}

// sortRoutes sorts routes by node, then family (IPv4 first), then
// destination (default first, then by prefix), keeping the order of equal
// ones. to[i] is the destination of rs[i] (invalid: default), as
// addRoute keeps it; routes already in order (the common case: they are
// made node by node) are left as they are.
func sortRoutes(rs []RouteSpec, to []netip.Prefix) {
	less := func(i, j int) bool {
		a, b := &rs[i], &rs[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Via.Is6() != b.Via.Is6() {
			return !a.Via.Is6()
		}
		di, dj := !to[i].IsValid(), !to[j].IsValid()
		if di || dj {
			return di && !dj
		}
		return prefixLess(to[i], to[j])
	}
	sorted := true
	for i := 1; i < len(rs) && sorted; i++ {
		sorted = !less(i, i-1)
	}
	if sorted {
		return
	}
	perm := make([]int, len(rs))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(x, y int) bool { return less(perm[x], perm[y]) })
	out := make([]RouteSpec, len(rs))
	for i, p := range perm {
		out[i] = rs[p]
	}
	copy(rs, out)
}

// removeDefault removes node's automatic IPv4 default route (from
// l.Routes and r.routeTo alike).
func (r *resolver) removeDefault(l *Lab, node string) {
	k := 0
	for i, rt := range l.Routes {
		if !(rt.Node == node && rt.To == "default" && !rt.Via.Is6()) {
			l.Routes[k], r.routeTo[k] = rt, r.routeTo[i]
			k++
		}
	}
	l.Routes, r.routeTo = l.Routes[:k], r.routeTo[:k]
}

// prefixName is p.String(), made once per prefix: a large lab's routes
// name the same aggregates from node after node.
func (r *resolver) prefixName(p netip.Prefix) string {
	if s, ok := r.names[p]; ok {
		return s
	}
	if r.names == nil {
		r.names = map[netip.Prefix]string{}
	}
	s := string(p.AppendTo(r.scratch[:0]))
	r.names[p] = s
	return s
}

func (g *graph) linkBetween(a, b int) int {
	for _, e := range g.adj[a] {
		if e.to == b {
			return e.link
		}
	}
	return -1
}

// addRoute adds, on node s, a route to p (invalid: default) via
// neighbour v, over the first link between them. A neighbour without an
// address of the family on that link gets no route. r.routeTo keeps p
// beside the route (for sortRoutes).
func (r *resolver) addRoute(l *Lab, g *graph, s, v int, p netip.Prefix, v6, static bool) {
	li := g.linkBetween(s, v)
	lk := &l.Links[li]
	mine, theirs := &lk.A, &lk.B
	if lk.A.Node != g.names[s] {
		mine, theirs = &lk.B, &lk.A
	}
	via := famAddr(theirs.Addrs, v6)
	if !via.IsValid() {
		return
	}
	to := "default"
	if p.IsValid() {
		to = r.prefixName(p)
	}
	l.Routes = append(l.Routes, RouteSpec{Node: g.names[s], To: to, Via: via.Addr(), Dev: mine.Iface, Static: static})
	r.routeTo = append(r.routeTo, p)
}

// u128 is an address as a 128-bit number (an IPv4 address as its
// IPv4-mapped IPv6 form): runs compare and split on it without the
// pointer netip.Addr carries.
type u128 struct{ hi, lo uint64 }

func addr128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// run is a range of destinations (by index, inclusive; the ones between
// that are not in it are attached to the node) whose routes all go
// through one neighbour.
type run struct {
	first, last int32
	label       int32
}

// cover makes the aggregated routes of one node s from its runs; lo and
// hi are the first and last address of each destination.
type cover struct {
	r      *resolver
	l      *Lab
	g      *graph
	s      int
	lo, hi []u128
}

// runs adds the routes of node s for runs (sorted, inside p): p
// itself when all its runs go through one neighbour, else each half of p
// in turn. Attached subnets are not in runs: the kernel's connected
// routes are more specific than any aggregate. Subnets do not overlap,
// so runs do not either. A run that crosses the middle of p belongs to
// both halves: only its label matters inside a half, so runs are never
// cut, only the slice is.
func (c *cover) runs(p netip.Prefix, runs []run) {
	if len(runs) == 0 {
		return
	}
	mixed := false
	for _, x := range runs[1:] {
		if x.label != runs[0].label {
			mixed = true
			break
		}
	}
	if !mixed {
		c.r.addRoute(c.l, c.g, c.s, int(runs[0].label), p, p.Addr().Is6(), false)
		return
	}
	if p.Bits() >= p.Addr().BitLen() {
		return // cannot happen: one address has one neighbour
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := nextPrefix(lo)
	loEnd := lastAddr128(lo.Masked())
	// left: the runs that start in lo; right: those that end in hi.
	i := sort.Search(len(runs), func(k int) bool { return c.lo[runs[k].first].cmp(loEnd) > 0 })
	j := sort.Search(len(runs), func(k int) bool { return c.hi[runs[k].last].cmp(loEnd) > 0 })
	c.runs(lo, runs[:i])
	c.runs(hi, runs[j:])
}

// lastAddr128 is addr128(lastAddr(p)), for a masked p.
func lastAddr128(p netip.Prefix) u128 {
	a, n := addr128(p.Addr()), p.Addr().BitLen()-p.Bits() // host bits
	switch {
	case n >= 64:
		a.lo = ^uint64(0)
		a.hi |= 1<<(n-64) - 1
	case n > 0:
		a.lo |= 1<<n - 1
	}
	return a
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	out := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		out = out.Unmap()
	}
	return out
}
