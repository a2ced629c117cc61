package topology

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
	// Each node's children are at most its neighbours: a segment of one
	// slab, filled by append without growing.
	slab := make([]int32, len(g.to))
	for i := range f.comp {
		f.comp[i] = -1
		f.kids[i] = slab[g.start[i]:g.start[i]:g.start[i+1]]
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
	return f.child(s, f.tin[t])
}

// child is the child of s whose subtree holds the node numbered tin (in
// the subtree of s, not s): the last child numbered at most tin
// (children are in preorder).
func (f *forest) child(s, tin int32) int32 {
	kids := f.kids[s]
	lo, hi := 0, len(kids) // f.tin[kids[lo]] <= tin < f.tin[kids[hi]]
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if f.tin[kids[m]] <= tin {
			lo = m
		} else {
			hi = m
		}
	}
	return kids[lo]
}
