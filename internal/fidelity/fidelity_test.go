package fidelity_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/npte/npte/internal/fidelity"
)

func parse(t *testing.T, script string) *syntax.File {
	t.Helper()
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "planted.sh")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInterpRefusesWritesOutside (issue 10 item 19): a rendered script
// whose quoting broke so that a word became a redirection ("> FILE") is
// refused by the interpreter's open handler for any FILE outside the
// test's state directory, and no program of the script really runs.
//
// The refusal is first shown on a victim file in another temporary
// directory; only once that holds is the literal "> /etc/passwd" tried,
// so that a broken handler cannot reach the machine's file.
func TestInterpRefusesWritesOutside(t *testing.T) {
	l, _ := fidelity.StateRoot(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	linkDir := filepath.Join(filepath.Dir(l.Root), "escape")
	if err := os.Symlink(filepath.Dir(victim), linkDir); err != nil {
		t.Fatal(err)
	}
	for _, script := range []string{
		"ip netns add demo > " + victim + " || exit 1\n",
		"echo x >> " + victim + "\n",
		"cd " + filepath.Dir(l.Root) + " && echo x > ../" + filepath.Base(filepath.Dir(filepath.Dir(victim))) + "/" + filepath.Base(filepath.Dir(victim)) + "/victim\n",
		"echo x > " + linkDir + "/victim\n", // through a symlink in the state dir
		"(set -C; : > " + victim + ")\n",
	} {
		r := fidelity.RunScript(t, parse(t, script), l, fidelity.AllSucceed)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "refusing to write outside") {
			t.Errorf("script %q: exit %d, stderr %q; want a refusal", script, r.Exit, r.Stderr)
		}
		if b, err := os.ReadFile(victim); err != nil || string(b) != "keep" {
			t.Fatalf("script %q wrote the victim: %q %v", script, b, err)
		}
	}
	if t.Failed() {
		t.Fatal("the handler let a write through: not trying /etc/passwd")
	}
	before, err := os.Stat("/etc/passwd")
	if err != nil {
		t.Skip("no /etc/passwd")
	}
	r := fidelity.RunScript(t, parse(t, "ip link add name 'x' > /etc/passwd || exit 1\n"), l, fidelity.AllSucceed)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "refusing to write outside") || len(r.Events) != 0 {
		t.Errorf("> /etc/passwd: exit %d, stderr %q, events %v; want a refusal before ip runs", r.Exit, r.Stderr, r.Events)
	}
	if after, err := os.Stat("/etc/passwd"); err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("/etc/passwd changed: %v %v", after, err)
	}
	// Writes inside the state directory (markers) are allowed.
	r = fidelity.RunScript(t, parse(t, "(set -C; : >"+l.Marker("ok")+")\n"), l, fidelity.AllSucceed)
	if r.Exit != 0 || r.State != "netns/ok" {
		t.Errorf("marker write: exit %d, state %q, stderr %q", r.Exit, r.State, r.Stderr)
	}
}

// TestInterpRunsNoProgram checks that the interpreter's exec handler
// records programs and never runs one.
func TestInterpRunsNoProgram(t *testing.T) {
	l, _ := fidelity.StateRoot(t)
	made := filepath.Join(filepath.Dir(l.Root), "made-by-mkdir")
	r := fidelity.RunScript(t, parse(t, "mkdir "+made+" || exit 1\n/bin/mkdir "+made+"2 || exit 1\n"), l, fidelity.AllSucceed)
	if r.Exit != 0 || len(r.Events) != 2 {
		t.Fatalf("exit %d, events %v, stderr %q", r.Exit, r.Events, r.Stderr)
	}
	for _, p := range []string{made, made + "2"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: a real program ran", p)
		}
	}
}
