package topology

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: no input makes the parser or the resolver panic, and every
// error it reports is an Errors whose entries name the file and, when
// they have a line, a column too, with a snippet.
func FuzzLoad(f *testing.F) {
	fs, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range fs {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	for _, s := range []string{"", "name: a\n", "- x", "name: a\nnodes: {a: {}, b: {}}\nlinks: [[a, b], {endpoints: [a, b], ifaces: {a: x}}]\n",
		"&a [*a]", "name: t\nnodes:\n  a: {host: x}\nstatic: [{node: a, to: default, via: a}]\n", "{{{{", "name: !!binary x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := LoadBytes("fuzz.yaml", data)
		if err == nil {
			if l == nil {
				t.Fatal("nil lab without error")
			}
			// A resolved lab renders, plans and diffs.
			_ = Apply(l, nil, "/run/npte", nil)
			_, _ = Graph(l, FormatDOT)
			_ = Diff(l, l)
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %v is not Errors", err, err)
		}
		for _, e := range es {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("error without file or message: %#v", e)
			}
			if e.Line > 0 && (e.Column <= 0 || !strings.HasPrefix(e.Error(), "fuzz.yaml:")) {
				t.Fatalf("error with a line but no column: %#v", e)
			}
		}
	})
}
