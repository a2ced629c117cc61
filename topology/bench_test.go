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
