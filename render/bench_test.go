package render_test

import (
	"testing"

	"github.com/npte/npte/bench"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// benchSink keeps the compiler from optimising the work away.
var benchSink int

// benchCases are the plans the benchmarks build: one namespace, the
// built-in lab, and a generated 100-namespace chain (100 creates, 99
// connects, 198 addresses, 100 routes) as one composite plan and as the
// 497 plans of one npte invocation each.
var benchCases = []struct {
	name  string
	build func() []plan.Plan
}{
	{"netns-create", func() []plan.Plan { return []plan.Plan{netns.Create("ns1", netns.DefaultDNS)} }},
	{"lab-create", func() []plan.Plan { return []plan.Plan{lab.Create()} }},
	{"chain-100", func() []plan.Plan { return []plan.Plan{bench.Chain(100)} }},
	{"chain-100-per-op", func() []plan.Plan { return bench.OpPlans(100) }},
}

// BenchmarkScript measures building and rendering together, what `npte
// ... --dry-run` does once its arguments are parsed. Target: chain-100
// under 1 ms, see BenchmarkScriptFresh (read cpu-ns/op on a busy
// machine, see bench.ReportCPU).
// SetBytes is the size of the script(s) of one iteration.
func BenchmarkScript(b *testing.B) {
	o := render.Options{Version: "bench"}
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for _, p := range c.build() {
				s, _ := render.Script(p, o)
				size += len(s)
			}
			b.SetBytes(int64(size))
			start := bench.CPUTime()
			for b.Loop() {
				for _, p := range c.build() {
					s, err := render.Script(p, o)
					if err != nil {
						b.Fatal(err)
					}
					benchSink += len(s)
				}
			}
			bench.ReportCPU(b, start)
		})
	}
}

// BenchmarkScriptFresh is BenchmarkScript as one npte process runs it:
// each iteration starts after a collection, so none runs during it (see
// bench.LoopFresh). This is the figure for the 1 ms target.
func BenchmarkScriptFresh(b *testing.B) {
	o := render.Options{Version: "bench"}
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			bench.LoopFresh(b, func() {
				for _, p := range c.build() {
					s, err := render.Script(p, o)
					if err != nil {
						b.Fatal(err)
					}
					benchSink += len(s)
				}
			})
		})
	}
}

// BenchmarkRender measures rendering alone, on plans built beforehand.
func BenchmarkRender(b *testing.B) {
	o := render.Options{Version: "bench"}
	for _, c := range benchCases {
		plans := c.build()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := bench.CPUTime()
			for b.Loop() {
				for _, p := range plans {
					s, err := render.Script(p, o)
					if err != nil {
						b.Fatal(err)
					}
					benchSink += len(s)
				}
			}
			bench.ReportCPU(b, start)
		})
	}
}
