package topology

import "slices"

// pathRuns makes the runs of every node of a lab without cycles (see
// resolver.routes) without labelling every destination from every node.
// From s, two destinations (by their first endpoints u and v, neither of
// them s) have the same next hop exactly when s is not on the tree path
// between u and v. So the runs of s break only between consecutive
// destinations whose path holds s: each pair of consecutive destinations
// (in a class, within a component) is written once, on the nodes of its
// path, and a node reads its own breaks. Destinations that do not count
// for s (attached to it, or replaced by a static route) are taken out
// around it: the breaks next to them are dropped and the two
// destinations on either side are compared instead.
//
// A chain's, a star's or a tree's destinations follow the tree (links are
// numbered as written, and written along the tree), so the paths are
// short: O(links) work in all instead of O(nodes * links). When they are
// not (the paths add up to more than budget), newPathRuns returns nil and
// the labelling pass is used. TestRoutesMatchReference compares both with
// the reference.
type pathRuns struct {
	f     *forest
	depth []int32
	// seq[c] are the destinations of class c (pool4, pool6) grouped by the
	// component of their first endpoint, in destination order within
	// each; span[c][root] is the range [lo, hi) of root's component.
	seq  [2][]int32
	span [2][][2]int32
	// at[d] is destination d's position in seq of its class cls[d] (-1:
	// alone).
	at  []int32
	cls []int8
	// brk[c][start[c][s]:start[c][s+1]] are the positions k (ascending)
	// where the path between seq[c][k] and seq[c][k+1] holds s.
	start, brk [2][]int32
	// out marks, by position, the destinations taken out for the node at
	// hand; outs lists them.
	out  [2][]bool
	outs []int32
	cuts []int32
}

// newPathRuns prepares the runs of f's nodes for destinations whose first
// endpoints are da, of classes byClass; nil when the paths between
// consecutive destinations add up to more than budget.
func newPathRuns(f *forest, da []int32, byClass [2][]int32, budget int) *pathRuns {
	n := len(f.comp)
	p := &pathRuns{f: f, depth: make([]int32, n), at: make([]int32, len(da)), cls: make([]int8, len(da))}
	// Depths, in preorder (a parent before its children).
	order := make([]int32, n)
	for v, t := range f.tin {
		order[t] = int32(v)
	}
	for _, v := range order {
		if u := f.parent[v]; u >= 0 {
			p.depth[v] = p.depth[u] + 1
		}
	}
	for i := range p.at {
		p.at[i], p.cls[i] = -1, -1
	}
	total := 0
	for c, idx := range byClass {
		// Group by component (a stable counting sort on the root).
		span := make([][2]int32, n)
		for _, d := range idx {
			span[f.comp[da[d]]][1]++
		}
		var sum int32
		for r := range span {
			cnt := span[r][1]
			span[r] = [2]int32{sum, sum}
			sum += cnt
		}
		seq := make([]int32, len(idx))
		for _, d := range idx {
			r := f.comp[da[d]]
			k := span[r][1]
			seq[k] = d
			p.at[d], p.cls[d] = k, int8(c)
			span[r][1]++
		}
		p.seq[c], p.span[c] = seq, span
		// Count, then write, the breaks of each node.
		start := make([]int32, n+1)
		for k := 0; k+1 < len(seq); k++ {
			u, v := da[seq[k]], da[seq[k+1]]
			if f.comp[u] != f.comp[v] {
				continue
			}
			total += p.walk(u, v, func(x int32) { start[x+1]++ }, budget-total)
			if total > budget {
				return nil
			}
		}
		for i := range n {
			start[i+1] += start[i]
		}
		brk, fill := make([]int32, start[n]), make([]int32, n)
		copy(fill, start[:n])
		for k := 0; k+1 < len(seq); k++ {
			u, v := da[seq[k]], da[seq[k+1]]
			if f.comp[u] != f.comp[v] {
				continue
			}
			p.walk(u, v, func(x int32) { brk[fill[x]] = int32(k); fill[x]++ }, budget)
		}
		p.start[c], p.brk[c] = start, brk
		p.out[c] = make([]bool, len(seq))
	}
	return p
}

// walk calls visit on each node of the path between u and v (both in one
// tree), each once, and returns their number; it stops after limit+1.
func (p *pathRuns) walk(u, v int32, visit func(int32), limit int) int {
	cnt := 0
	for u != v && cnt <= limit {
		if p.depth[u] >= p.depth[v] {
			visit(u)
			u = p.f.parent[u]
		} else {
			visit(v)
			v = p.f.parent[v]
		}
		cnt++
	}
	visit(u)
	return cnt + 1
}

// runs appends to rs the runs of s in class c: the destinations of the
// class in s's component, less those in skip (dest indices; those of
// other classes are ignored), where first endpoints are da. Labels are
// forest.hop toward the first endpoint.
func (p *pathRuns) runs(s int32, c int, skip, da []int32, rs []run) []run {
	f := p.f
	lohi := p.span[c][f.comp[s]]
	lo, hi := lohi[0], lohi[1]
	if lo == hi {
		return rs
	}
	seq, out := p.seq[c], p.out[c]
	p.outs = p.outs[:0]
	for _, d := range skip {
		if k := p.at[d]; int(p.cls[d]) == c && lo <= k && k < hi && !out[k] {
			out[p.at[d]] = true
			p.outs = append(p.outs, p.at[d])
		}
	}
	// (Attached destinations are in s's component; one a static route
	// replaces may be in another, where it does not count.)
	// The positions taken out, in order (a hub's are many; mostly in
	// order already).
	outs := p.outs
	slices.Sort(outs)
	// The breaks: s's own, less those next to a destination taken out,
	// merged with those across each block of destinations taken out.
	cuts := p.cuts[:0]
	own := p.brk[c][p.start[c][s]:p.start[c][s+1]]
	oi := 0
	mine := func(below int32) { // s's own breaks before below
		for ; oi < len(own) && own[oi] < below; oi++ {
			if k := own[oi]; !out[k] && !out[k+1] {
				cuts = append(cuts, k)
			}
		}
	}
	for i := 0; i < len(outs); {
		j := i
		for j+1 < len(outs) && outs[j+1] == outs[j]+1 {
			j++
		}
		first, last := outs[i], outs[j]
		i = j + 1
		if first == lo || last == hi-1 {
			continue
		}
		prev, next := seq[first-1], seq[last+1]
		if f.hop(s, da[prev]) != f.hop(s, da[next]) {
			mine(last)
			cuts = append(cuts, last)
		}
	}
	mine(hi)
	// The runs: from break to break, the first and last destination not
	// taken out.
	from := lo
	emit := func(to int32) {
		x, y := from, to
		for x <= y && out[x] {
			x++
		}
		for y >= x && out[y] {
			y--
		}
		from = to + 1
		if x > y {
			return
		}
		rs = append(rs, run{seq[x], seq[y], f.hop(s, da[seq[x]])})
	}
	for _, k := range cuts {
		emit(k)
	}
	emit(hi - 1)
	for _, k := range outs {
		out[k] = false
	}
	p.cuts = cuts
	return rs
}
