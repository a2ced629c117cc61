package topology

import "sort"

// forest answers the route computation's next-hop questions on a lab
// whose graph has no cycle (chains, stars, trees: most large labs)
// without a BFS from every node: between two nodes of a tree there is
// one path, so the shortest path and its first hop need no search. The
// answers are those of the BFS (graph.bfs): the reference test
// (TestRoutesMatchReference) compares both on chains, stars, trees,
// forests and grids.
type forest struct {
	comp, parent []int32 // component (its root), parent (-1 at a root)
	tin, tout    []int32 // preorder number; the largest one in the subtree
	kids         [][]int32
}

// newForest returns the forest of g, or nil if g has a cycle.
func newForest(g *graph) *forest {
	n := len(g.adj)
	edges := len(g.to) / 2
	f := &forest{comp: make([]int32, n), parent: make([]int32, n), tin: make([]int32, n), tout: make([]int32, n), kids: make([][]int32, n)}
	for i := range f.comp {
		f.comp[i] = -1
	}
	clock, comps := int32(0), 0
	type frame struct{ u, next int32 }
	var stack []frame
	for root := 0; root < n; root++ {
		if f.comp[root] >= 0 {
			continue
		}
		comps++
		f.comp[root], f.parent[root], f.tin[root] = int32(root), -1, clock
		clock++
		stack = append(stack[:0], frame{int32(root), g.start[root]})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			u := top.u
			if top.next == g.start[u+1] {
				f.tout[u] = clock - 1
				stack = stack[:len(stack)-1]
				continue
			}
			v := g.to[top.next]
			top.next++
			if v == f.parent[u] {
				continue
			}
			if f.comp[v] >= 0 {
				return nil // a cycle
			}
			f.comp[v], f.parent[v], f.tin[v] = int32(root), u, clock
			clock++
			f.kids[u] = append(f.kids[u], v)
			stack = append(stack, frame{v, g.start[v]})
		}
	}
	if edges != n-comps {
		return nil
	}
	return f
}

// in reports whether t is in the subtree of u.
func (f *forest) in(t, u int32) bool { return f.tin[u] <= f.tin[t] && f.tin[t] <= f.tout[u] }

// hop is the neighbour of s on the path to t (t != s), or -1 when t is
// in another component.
func (f *forest) hop(s, t int32) int32 {
	if f.comp[s] != f.comp[t] {
		return -1
	}
	if !f.in(t, s) {
		return f.parent[s]
	}
	// The child of s whose subtree holds t: the last one numbered
	// before t (children are in preorder).
	kids := f.kids[s]
	i := sort.Search(len(kids), func(k int) bool { return f.tin[kids[k]] > f.tin[t] })
	return kids[i-1]
}

// label is graph.bfs's label of a destination with endpoints a and b (b
// -1 for the uplink's subnet) seen from s, which is neither: the hop
// toward the nearer endpoint, -2 if unreachable. In a tree that is the
// hop toward a: the path from s to the farther endpoint runs through the
// nearer one, so both start with the same hop.
func (f *forest) label(s, a int32) int32 {
	if h := f.hop(s, a); h >= 0 {
		return h
	}
	return -2
}
