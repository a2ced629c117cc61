package cli_test

import (
	"path/filepath"
	"testing"

	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/topology"
)

// The script of `lab apply FILE` and its live run do the same thing, for
// every example: a new lab (every program succeeds), a lab whose first
// node is taken (refused before any change, exit 2 on both sides), and
// its destroy by file over a built lab.
func TestLabFileFidelity(t *testing.T) {
	for _, name := range labExamples {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("..", "examples", name+".yaml")
			l, err := topology.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			r := fidelity.Check(t, fidelity.Setup{}, fidelity.AllSucceed, "lab", "apply", file)
			if l.Uplink == nil && r.Exit != 0 {
				t.Errorf("apply: exit %d: %s", r.Exit, r.Stderr)
			}
			if r := fidelity.Check(t, fidelity.Setup{Foreign: []string{l.Nodes[0].Name}}, fidelity.AllSucceed, "lab", "apply", file); r.Exit != 2 || len(r.Events) != 0 {
				t.Errorf("apply over a foreign namespace: exit %d, %d programs run: %s", r.Exit, len(r.Events), r.Stderr)
			}
			var nodes []string
			for _, n := range l.Nodes {
				nodes = append(nodes, n.Name)
			}
			if r := fidelity.Check(t, fidelity.Setup{Managed: nodes}, fidelity.AllSucceed, "lab", "destroy", file); r.Exit != 0 {
				t.Errorf("destroy: exit %d: %s", r.Exit, r.Stderr)
			}
		})
	}
}
