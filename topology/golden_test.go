package topology

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/npte/npte/render"
)

var update = flag.Bool("update", false, "rewrite testdata/golden (go test ./topology -run TestGolden -update)")

// variant is the changed copy of an example the change goldens use: one
// more node, linked (last) to the first node of the first link, and
// the dumbbell's bottleneck delay changed.
func variant(t *testing.T, data []byte) []byte {
	t.Helper()
	data = bytes.Replace(data, []byte("delay: 20ms"), []byte("delay: 30ms"), 1)
	f, err := Parse("x", data)
	if err != nil {
		t.Fatal(err)
	}
	f.Nodes["extra"] = &Node{}
	f.Links = append(f.Links, Link{Endpoints: []string{"extra", f.Links[0].Endpoints[0]}})
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden renders, for every example: the plan of a new lab in words
// and as JSON, its graph in DOT and Mermaid, and the plan (words and
// script) of a changed variant applied over it. The apply --dry-run
// script of a new lab, batched and --no-batch, is a golden of the CLI
// (cli/testdata/labfile.txtar), where the fidelity check runs it too.
func TestGolden(t *testing.T) {
	for _, file := range examples(t) {
		base := strings.TrimSuffix(filepath.Base(file), ".yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		l, err := LoadBytes(file, data)
		if err != nil {
			t.Fatal(err)
		}
		argv := []string{"lab", "apply", "examples/" + base + ".yaml"}
		p := Apply(l, nil, "/run/npte", argv)
		dot, _ := Graph(l, FormatDOT)
		mmd, _ := Graph(l, FormatMermaid)
		v, err := LoadBytes("variant", variant(t, data))
		if err != nil {
			t.Fatal(err)
		}
		vp := Apply(v, l, "/run/npte", []string{"lab", "apply", "examples/" + base + "-variant.yaml"})
		vscript, err := render.Script(vp, render.Options{Version: "(golden)"})
		if err != nil {
			t.Fatal(err)
		}
		for ext, got := range map[string]string{
			"plan.txt":    FormatDiff(l.Name, Diff(nil, l)),
			"plan.json":   string(PlanJSON(p)),
			"dot":         dot,
			"mmd":         mmd,
			"change.txt":  FormatDiff(l.Name, Diff(l, v)),
			"change.sh":   vscript,
			"reapply.txt": FormatDiff(l.Name, Diff(l, l)),
		} {
			path := filepath.Join("testdata", "golden", base+"."+ext)
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./topology -run TestGolden -update writes it)", err)
			}
			if string(want) != got {
				t.Errorf("%s differs from the golden (go test ./topology -run TestGolden -update, then review the diff)", path)
			}
		}
	}
}
