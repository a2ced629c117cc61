package securitytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// labFile writes a lab file under the test's temporary directory.
func labFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const crashLab = `name: kl
nodes: {ka: {}, kb: {}, kc: {}}
links:
  - [ka, kb]
  - [kb, kc]
`

// TestCrashLabApply kills `lab apply FILE` (SIGKILL) before each of its
// steps; `lab destroy NAME` then restores a clean machine every time:
// the lab's record is written before the first change, and every node
// has its intent record or marker.
func TestCrashLabApply(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	if err := os.Mkdir("/run/npte/lab", 0o755); err != nil {
		t.Fatal(err)
	}
	baseline := fullState(t)
	file := labFile(t, "kl.yaml", crashLab)
	n := killEach(t, []string{"lab", "apply", file}, baseline, nil, func(t *testing.T, n int) {
		// Killed before the record is written, nothing was made: lab
		// destroy says there is no such lab (exit 2), and killEach still
		// checks that the machine is back to its baseline.
		r := mustRunAny(t, "lab", "destroy", "kl")
		if r.Code != 0 && !(r.Code == 2 && strings.Contains(r.Stderr, "lab kl: no such lab") && !recorded(t, "kl")) {
			t.Fatalf("kill at step %d: lab destroy failed:\n%s", n, r)
		}
	})
	t.Logf("lab apply: %d kill points tried, each cleaned by lab destroy", n)
}

// recorded reports whether lab name has a record directory.
func recorded(t *testing.T, name string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join("/run/npte/lab", name))
	return err == nil
}

// TestCrashLabChange kills the apply of a changed file (a node and a link
// added, one link removed) over a built lab before each of its steps;
// `lab destroy NAME` then removes both the old and the new nodes
// (previous.json keeps the old lab while the change runs).
func TestCrashLabChange(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	if err := os.Mkdir("/run/npte/lab", 0o755); err != nil {
		t.Fatal(err)
	}
	baseline := fullState(t)
	file := labFile(t, "kl.yaml", crashLab)
	changed := labFile(t, "kl2.yaml", "name: kl\nnodes: {ka: {}, kb: {}, kc: {}, kd: {}}\nlinks:\n  - [ka, kb]\n  - [kc, kd]\n")
	setup := func() { mustRun(t, 0, "lab", "apply", file) }
	n := killEach(t, []string{"lab", "apply", changed}, baseline, setup, func(t *testing.T, n int) {
		if r := mustRunAny(t, "lab", "destroy", "kl"); r.Code != 0 {
			t.Fatalf("kill at step %d: lab destroy failed:\n%s", n, r)
		}
	})
	t.Logf("lab apply of a change: %d kill points tried, each cleaned by lab destroy", n)
}
