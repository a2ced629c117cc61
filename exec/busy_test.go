package exec

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/npte/npte/shell"
)

// TestBusyNamespaces: a name is busy when a PROC/[0-9]*/ns/net leads to
// its /run/netns/NAME; names come back in their order; a missing name or
// proc entry (a process gone meanwhile) is not busy.
func TestBusyNamespaces(t *testing.T) {
	dir := t.TempDir()
	l := shell.Layout{Root: dir + "/npte", RunNetns: dir + "/netns", Proc: dir + "/proc"}
	for _, n := range []string{"a", "b", "c", "d"} {
		if err := os.MkdirAll(l.RunNetns, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(l.Netns(n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(pid, target string) {
		d := filepath.Join(l.Proc, pid, "ns")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, d+"/net"); err != nil {
			t.Fatal(err)
		}
	}
	link("1", dir+"/host")
	link("20", l.Netns("c"))
	link("300", l.Netns("a"))
	link("301", l.Netns("a"))
	link("self", l.Netns("d"))  // not a pid: the glob [0-9]* skips it
	link("42", l.Netns("gone")) // dangling
	if err := os.WriteFile(dir+"/host", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := busyNamespaces(l, []string{"d", "c", "b", "a", "gone"})
	if len(got) != 2 || got[0] != "c" || got[1] != "a" {
		t.Errorf("busy = %q, want [c a]", got)
	}
}

// BenchmarkBusyNamespaces is the live side's cost of plan.CutBusyLinks
// with no busy namespace: 100 names against this machine's /proc (read
// only; names that do not exist cost a failed stat each).
func BenchmarkBusyNamespaces(b *testing.B) {
	var names []string
	for i := 1; i <= 100; i++ {
		names = append(names, "ns"+strconv.Itoa(i))
	}
	l := shell.DefaultLayout()
	for i := 0; i < b.N; i++ {
		busyNamespaces(l, names)
	}
}
