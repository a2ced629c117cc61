package exec_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
)

// cmd is a plan.Command of argv.
func cmd(argv ...string) plan.Command { return plan.Command{Argv: argv} }

// TestRunSetsUmask022 (issue 11 item 9): live mode sets the script
// header's umask 022 whatever the caller's (sudo passes the user's on):
// the programs it starts run under 022, and the marker it writes is 0644,
// when npte itself was started under umask 077.
func TestRunSetsUmask022(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	h := newHarness(t)
	var seen []int
	h.during = func([]string) {
		u := syscall.Umask(0o077)
		syscall.Umask(u)
		seen = append(seen, u)
	}
	p := plan.Plan{Argv: []string{"test"}, Steps: []plan.Step{
		plan.Lock{},
		cmd("ip", "netns", "add", "demo"),
		plan.WriteMarker{Name: "demo"},
		plan.Unlock{},
	}}
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != 0o022 {
		t.Errorf("umask of the programs run: %#o, want [022]", seen)
	}
	fi, err := os.Lstat(h.layout().Marker("demo"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o644 {
		t.Errorf("marker mode %#o under the caller's umask 077, want 0644 (the script's umask 022)", got)
	}
}

// TestIfOwnedRefusesUnsafeMarker (issue 11 item 9): IfOwned (lab destroy)
// on a marker or intent record that is a symbolic link or a directory is
// a guard's refusal, exit 2, as the script's guard is: the body does not
// run, nothing is skipped silently, and the lock is released.
func TestIfOwnedRefusesUnsafeMarker(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(h *harness) error
		want string
	}{
		{"marker symlink", func(h *harness) error { return os.Symlink(h.t.TempDir(), h.layout().Marker("demo")) }, "symbolic link"},
		{"marker directory", func(h *harness) error { return os.Mkdir(h.layout().Marker("demo"), 0o755) }, "a directory"},
		{"intent symlink", func(h *harness) error { return os.Symlink("/nonexistent", h.layout().Intent("demo")) }, "symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if err := h.r.Registry.Prepare(); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(h); err != nil {
				t.Fatal(err)
			}
			p := plan.Plan{Argv: []string{"test"}, Steps: []plan.Step{
				plan.Lock{},
				plan.IfOwned{Name: "demo", Then: []plan.Step{cmd("ip", "netns", "del", "demo"), plan.RemoveMarker{Name: "demo"}}},
				cmd("ip", "netns", "list"),
			}}
			err := h.r.Run(context.Background(), p)
			se := stepError(t, err)
			var ge *exec.GuardError
			if se.Code != exec.ExitUsage || !errors.As(err, &ge) {
				t.Fatalf("Run = %v (code %d), want a guard's refusal, exit 2", err, se.Code)
			}
			if msg := se.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("message %q: want one line naming %q", msg, tc.want)
			}
			if len(h.calls) != 0 {
				t.Errorf("programs ran after the refusal: %s", h.argvs())
			}
			if strings.Contains(h.stderr.String(), "skipped") {
				t.Errorf("the unsafe name was skipped instead of refused: %q", h.stderr.String())
			}
			if !h.lockFree() {
				t.Error("lock still held after the refusal")
			}
		})
	}
}

// TestStepNumbersCountNestedSteps (issue 11 item 9): "step N/M failed"
// counts the steps inside IfNetns and IfOwned in M, so that N never
// exceeds M.
func TestStepNumbersCountNestedSteps(t *testing.T) {
	h := newHarness(t)
	if err := h.r.Registry.Prepare(); err != nil {
		t.Fatal(err)
	}
	touch(t, h.layout().Marker("demo"))
	touch(t, h.layout().Netns("demo"))
	h.outcome = failOn("ip netns del demo")
	p := plan.Plan{Argv: []string{"test"}, Steps: []plan.Step{
		plan.Lock{}, // 1
		plan.IfOwned{Name: "demo", Then: []plan.Step{ // 2
			plan.IfNetns{Name: "demo", Then: []plan.Step{ // 3
				cmd("ip", "-n", "demo", "link", "delete", "group", netns.LinkGroup), // 4
				cmd("ip", "netns", "del", "demo"),                                   // 5: fails
			}},
			plan.RemoveMarker{Name: "demo"}, // 6
		}},
		cmd("ip", "netns", "list"), // 7
	}}
	se := stepError(t, h.r.Run(context.Background(), p))
	if se.Index != 5 || se.Total != 7 {
		t.Errorf("step %d/%d, want 5/7", se.Index, se.Total)
	}
	if msg := se.Error(); !strings.Contains(msg, "step 5/7 failed: ip netns del demo") {
		t.Errorf("message %q, want step 5/7", msg)
	}
}
