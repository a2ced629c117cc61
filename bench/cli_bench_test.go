package bench_test

import (
	"io"
	"testing"

	"github.com/npte/npte/bench"
	"github.com/npte/npte/cli"
	"github.com/npte/npte/shell"
)

// BenchmarkCLI measures one npte invocation in process, from argv to the
// rendered script: building the kong model of the whole command tree,
// parsing, validating, building the plan and rendering it. With the Go
// runtime's own start-up, this is what `npte ... --dry-run` costs (the
// (d) figure of bench/run.sh); --version shows the kong part alone.
func BenchmarkCLI(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"version", []string{"--version"}},
		{"netns-create-dry-run", []string{"netns", "create", "--dry-run", "ns1"}},
		{"netns-add-route-dry-run", []string{"netns", "add-route", "--dry-run", "ns1", "default", "10.0.1.2"}},
		{"lab-create-dry-run", []string{"lab", "create", "--dry-run"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := bench.CPUTime()
			for b.Loop() {
				env := cli.Env{
					Args: c.args, Stdout: io.Discard, Stderr: io.Discard,
					Getenv: func(string) string { return "" }, Layout: shell.DefaultLayout(), Version: "bench",
				}
				if code := cli.Main(env); code != 0 {
					b.Fatalf("npte %v: exit %d", c.args, code)
				}
			}
			bench.ReportCPU(b, start)
		})
	}
}
