package netns_test

import (
	"testing"

	"github.com/npte/npte/bench"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
)

// sink keeps the compiler from optimising the builders away.
var sink int

// BenchmarkBuild measures the pure plan builders: one namespace, the
// built-in lab, and a generated 100-namespace chain (100 creates, 99
// connects, 198 addresses, 100 routes), both as one composite plan and as
// the 497 plans of one npte invocation each. Rendering is measured in
// render's BenchmarkScript. cpu-ns/op is the figure to read on a busy
// machine (see bench.ReportCPU).
func BenchmarkBuild(b *testing.B) {
	for _, c := range []struct {
		name  string
		build func() int
	}{
		{"netns-create", func() int { return len(netns.Create("ns1", netns.DefaultDNS).Steps) }},
		{"lab-create", func() int { return len(lab.Create().Steps) }},
		{"chain-100", func() int { return len(bench.Chain(100).Steps) }},
		{"chain-100-per-op", func() int {
			n := 0
			for _, p := range bench.OpPlans(100) {
				n += len(p.Steps)
			}
			return n
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := bench.CPUTime()
			for b.Loop() {
				sink += c.build()
			}
			bench.ReportCPU(b, start)
		})
	}
}
