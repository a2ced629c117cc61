package topology

import (
	"testing"

	"github.com/npte/npte/render"
)

// BenchmarkPlanRender1000 parses, resolves, plans and renders a
// 1000-node chain: the target is under 50 ms per run.
func BenchmarkPlanRender1000(b *testing.B) {
	data := ChainFile(1000)
	b.ReportAllocs()
	for b.Loop() {
		l, err := LoadBytes("chain1000.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		p := Apply(l, nil, "/run/npte", []string{"lab", "apply", "chain1000.yaml"})
		if _, err := render.Script(p, render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad1000 is the parse and resolve part alone.
func BenchmarkLoad1000(b *testing.B) {
	data := ChainFile(1000)
	for b.Loop() {
		if _, err := LoadBytes("chain1000.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
