package batch_test

import (
	"testing"

	"github.com/npte/npte/batch"
	"github.com/npte/npte/bench"
	"github.com/npte/npte/render"
)

// BenchmarkOptimize: the batching pass and the render of a chain of 1000
// (what `lab chain 1000 --dry-run` costs beyond building the plan).
func BenchmarkOptimize(b *testing.B) {
	p := bench.Chain(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.Script(batch.Optimize(p), render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
