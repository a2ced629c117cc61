package topology

import (
	"fmt"
	"strings"
	"testing"

	"github.com/npte/npte/batch"
	"github.com/npte/npte/render"
)

// BenchmarkPlanRender1000 parses, resolves, plans and renders a
// 1000-node chain: the target is under 50 ms per run.
//
// Before and after the performance work of issue 13 (commit 822cf33 and
// branch s18-perf), on the 2-vCPU development machine shared with other
// builds (load average 2.9 to 4.0 during the runs): both test binaries
// in turn, median of 5 runs of 20 ops, wall time:
//
//	benchmark        before                        after
//	PlanRender1000   139 ms  54.6 MB  364k allocs   54 ms  19.0 MB  118k allocs
//	Load1000          71 ms  19.5 MB  206k allocs   17 ms   4.2 MB   39k allocs
//	Parse1000         34 ms  12.5 MB  149k allocs  1.3 ms   0.9 MB    8k allocs
//	Resolve1000       47 ms   7.0 MB   57k allocs   21 ms   3.3 MB   31k allocs
//	Apply1000         47 ms  27.2 MB  139k allocs   21 ms  10.1 MB   60k allocs
//	Render1000        26 ms   7.9 MB   19k allocs   16 ms   4.7 MB   19k allocs
//
// PlanRender1000's fastest run after: 37 ms. CPU time (user+sys) per
// PlanRender1000 op, same conditions, median of 5: 175 ms before, 50 ms
// after. Where the time went: the YAML library's parse and reflection
// decode (now fastParse; the library only for unusual files and for
// error positions), a BFS per node for the routes (none for labs
// without cycles: forest), JSON reflection for the record (labEncoder),
// maps and re-parsed keys in Diff and Apply (refs), syntax.Quote for
// words that need no quoting (render.plainWord), and allocation
// throughout.
//
// The second round (branch s19-perf2), both test binaries in turn on the
// same machine, interleaved, median of 7 runs of 20 ops, load average
// 0.8 to 2.2 (user+sys CPU per PlanRender1000 op, median of 5: 63 ms
// before, 39 ms after):
//
//	benchmark            before                        after
//	PlanRender1000        60 ms  18.9 MB  117k allocs   32 ms  16.0 MB   63k allocs
//	PlanBatchRender1000   77 ms  30.1 MB  149k allocs   50 ms  27.5 MB  103k allocs
//	Load1000              21 ms   4.2 MB   39k allocs  6.9 ms   3.6 MB    8k allocs
//	Parse1000            1.3 ms   0.9 MB    8k allocs  1.0 ms   0.9 MB    1k allocs
//	Resolve1000           19 ms   3.3 MB   31k allocs  4.9 ms   2.7 MB    7k allocs
//	Apply1000             16 ms  10.1 MB   60k allocs   12 ms   8.0 MB   45k allocs
//	Render1000            16 ms   4.7 MB   18k allocs   12 ms   4.4 MB   10k allocs
//
// Where it went: the runs of a lab without cycles come from the tree
// paths between consecutive destinations (pathRuns: O(links) for a chain
// instead of a label per node and destination, 1M of them), routes keep
// their prefixes (no re-parse to sort) and name each one once; Apply of
// a new lab builds its steps straight from the lab (no list of 12,000
// changes), cuts every argv from one slab and writes a next hop once per
// run of routes; the record encoder appends to a local slice; the parser
// and resolve take their small objects from slabs; render writes words
// in single quotes (sysctl settings) without syntax.Quote. What is left:
// render's writes (about a third), netns.CreateActions (18 allocations a
// node), the boxing of 24,000 steps into plan.Step, and the GC they cause.
func BenchmarkPlanRender1000(b *testing.B) { planRender1000(b, false) }

// planRender1000 loads, plans (through the batching pass when batched)
// and renders topology.ChainFile(1000), once per iteration.
func planRender1000(b *testing.B, batched bool) {
	data := ChainFile(1000)
	b.ReportAllocs()
	for b.Loop() {
		l, err := LoadBytes("chain1000.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		p := Apply(l, nil, "/run/npte", []string{"lab", "apply", "chain1000.yaml"})
		if batched {
			p = batch.Optimize(p)
		}
		if _, err := render.Script(p, render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad1000 is the parse and resolve part alone.
func BenchmarkLoad1000(b *testing.B) {
	b.ReportAllocs()
	data := ChainFile(1000)
	for b.Loop() {
		if _, err := LoadBytes("chain1000.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// The phases of BenchmarkPlanRender1000, one by one, so that the next
// person sees where the time goes.

// BenchmarkParse1000 is the YAML parse and strict decode alone.
func BenchmarkParse1000(b *testing.B) {
	data := ChainFile(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parse("chain1000.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve1000 is the resolve alone: names, addresses, routes.
func BenchmarkResolve1000(b *testing.B) {
	f, src, err := parse("chain1000.yaml", ChainFile(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := resolve(f, src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply1000 is the plan of a new lab alone (diff, record, steps).
func BenchmarkApply1000(b *testing.B) {
	l, err := LoadBytes("chain1000.yaml", ChainFile(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Apply(l, nil, "/run/npte", []string{"lab", "apply", "chain1000.yaml"})
	}
}

// BenchmarkRender1000 is the render of that plan alone.
func BenchmarkRender1000(b *testing.B) {
	l, err := LoadBytes("chain1000.yaml", ChainFile(1000))
	if err != nil {
		b.Fatal(err)
	}
	p := Apply(l, nil, "/run/npte", []string{"lab", "apply", "chain1000.yaml"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.Script(p, render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanBatchRender1000 is what `npte lab apply FILE --dry-run`
// does with a 1000-node chain by default: BenchmarkPlanRender1000 plus
// the batching pass.
func BenchmarkPlanBatchRender1000(b *testing.B) { planRender1000(b, true) }

// BenchmarkLoadStatic100 loads bench/run.sh's 100-node chain: explicit
// addresses and 197 static routes, no automatic ones. The loop check of
// static routes walked from every node for every static route (O(S*N*N):
// 236 ms); it now walks each node once per destination (about 2 ms).
func BenchmarkLoadStatic100(b *testing.B) {
	var f strings.Builder
	f.WriteString("name: chain100\nnodes:\n")
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&f, "  ns%d: {}\n", i)
	}
	f.WriteString("links:\n")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&f, "  - endpoints: [ns%d, ns%d]\n    addresses: {ns%d: 10.0.%d.1/24, ns%d: 10.0.%d.2/24}\n", i, i+1, i, i, i+1, i)
	}
	f.WriteString("routes: none\nstatic:\n")
	for i := 1; i <= 100; i++ {
		if i < 100 {
			fmt.Fprintf(&f, "  - {node: ns%d, to: default, via: ns%d}\n", i, i+1)
		}
		if i >= 3 {
			fmt.Fprintf(&f, "  - {node: ns%d, to: 10.0.1.0/24, via: ns%d}\n", i, i-1)
		}
	}
	data := []byte(f.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBytes("chain100.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
