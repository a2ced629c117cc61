package bench

import (
	"io"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/registry"
)

func BenchmarkCLIDryRunCreate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		env := cli.Env{Args: []string{"netns", "create", "--dry-run", "ns1"}, Stdout: io.Discard, Stderr: io.Discard,
			Getenv: func(string) string { return "" }, Layout: registry.DefaultLayout(), Version: "bench"}
		if code := cli.Main(env); code != 0 {
			b.Fatal(code)
		}
	}
}
