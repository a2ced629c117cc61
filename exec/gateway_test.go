package exec_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
)

// TestOutputSteps: RequireNoRoute and IfOutput read a program's output
// live as their renderings do (render's TestOutputStepsInShells runs the
// same listings under every shell).
func TestOutputSteps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		out    string
		fail   bool
		step   func(argv []string) plan.Step
		code   int // 0, 1 (step failed) or 2 (refused)
		then   bool
		reason string
	}{
		{name: "empty", step: noRoute, code: 0},
		{name: "defaults only", out: "default via 10.0.0.1 dev eth0 \nunreachable default dev lo table 7 metric 4278198272\n\n", step: noRoute},
		{name: "a route", out: "default via 10.0.0.1 dev eth0\n172.16.0.0/12 dev eth0 table default proto static\n", step: noRoute, code: 2,
			reason: "m: 172.16.0.0/12 dev eth0 table default proto static"},
		{name: "listing fails", fail: true, step: noRoute, code: 1},
		{name: "output", out: "7: if-a: group 28272\n", step: ifOutput, then: true},
		{name: "no output", step: ifOutput},
		{name: "newlines only", out: "\n\n", step: ifOutput},
		{name: "no output, failing", fail: true, step: ifOutput},
	} {
		h := newHarness(t)
		h.r.Start = func(_ context.Context, c exec.Cmd) error {
			h.calls = append(h.calls, call{Argv: c.Argv})
			if c.Argv[0] == "ip" && c.Stdout != nil {
				_, _ = io.WriteString(c.Stdout, tc.out)
			}
			if tc.fail && c.Argv[0] == "ip" {
				return exitErr(1)
			}
			return nil
		}
		err := h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{tc.step([]string{"ip", "-o", "route", "show"})}})
		code := 0
		var se *exec.StepError
		if errors.As(err, &se) {
			code = se.Code
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%v)", tc.name, code, tc.code, err)
		}
		if tc.reason != "" && (err == nil || err.Error() != tc.reason) {
			t.Errorf("%s: message %q, want %q", tc.name, err, tc.reason)
		}
		ran := strings.Contains(h.argvs(), "echo then")
		if ran != tc.then {
			t.Errorf("%s: Then ran %v, want %v", tc.name, ran, tc.then)
		}
	}
}

func noRoute(argv []string) plan.Step { return plan.RequireNoRoute{Argv: argv, Message: "m"} }

func ifOutput(argv []string) plan.Step {
	return plan.IfOutput{Argv: argv, Then: []plan.Step{plan.Command{Argv: []string{"env", "echo", "then"}}}}
}

// TestGatewayRecordSteps: records are written, found and removed; a
// record directory that is a symbolic link, or a record that is not a
// regular file, is a refusal (exit 2), never followed.
func TestGatewayRecordSteps(t *testing.T) {
	h := newHarness(t)
	l := h.layout()
	run := func(steps ...plan.Step) error {
		return h.r.Run(context.Background(), plan.Plan{Steps: append([]plan.Step{plan.Lock{}}, steps...)})
	}
	if err := run(plan.RequireNoGatewayRecord{NS: "r"}, plan.WriteGatewayRecord{NS: "r", Firewall: plan.GatewayIPTables}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(l.GatewayRecord("r", "iptables")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("record: %v", err)
	}
	err := run(plan.RequireNoGatewayRecord{NS: "r"})
	if se := stepError(t, err); se.Code != exec.ExitUsage || !strings.Contains(err.Error(), "npte gateway destroy r") {
		t.Errorf("create over a record: %v", err)
	}
	then := []plan.Step{plan.Command{Argv: []string{"env", "then"}}}
	h.calls = nil
	if err := run(plan.RequireSafeGatewayRecords{NS: "r"},
		plan.IfGatewayRecord{NS: "r", Firewall: plan.GatewayNFT, Then: then},
		plan.IfGatewayRecord{NS: "r", Firewall: plan.GatewayIPTables, Then: then},
		plan.IfGatewayRecord{NS: "r", Then: then},
		plan.RemoveGatewayRecord{NS: "r", Firewall: plan.GatewayIPTables}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(h.argvs(), "env then"); got != 1 {
		t.Errorf("Then ran %d times, want once (iptables only):\n%s", got, h.argvs())
	}
	if _, err := os.Lstat(l.GatewayRecord("r", "iptables")); !os.IsNotExist(err) {
		t.Errorf("record not removed: %v", err)
	}
	// Unsafe paths.
	if err := os.Mkdir(l.GatewayRecord("r", "nft"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []plan.Step{plan.RequireSafeGatewayRecords{NS: "r"}, plan.IfGatewayRecord{NS: "r", Firewall: "nft", Then: then}, plan.RequireNoGatewayRecord{NS: "r"}} {
		if se := stepError(t, run(s)); se.Code != exec.ExitUsage {
			t.Errorf("%s with a directory as record: code %d", s.Describe(), se.Code)
		}
	}
	if err := os.Remove(l.GatewayRecord("r", "nft")); err != nil {
		t.Fatal(err)
	}
	victim := t.TempDir()
	if err := os.WriteFile(victim+"/r.nft", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(l.GatewayDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, l.GatewayDir()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []plan.Step{plan.RequireSafeGatewayRecords{NS: "r"}, plan.RemoveGatewayRecord{NS: "r", Firewall: "nft"}, plan.WriteGatewayRecord{NS: "r", Firewall: "iptables"}} {
		if se := stepError(t, run(s)); se.Code != exec.ExitUsage {
			t.Errorf("%s through a symlinked directory: code %d", s.Describe(), se.Code)
		}
	}
	if _, err := os.Lstat(victim + "/r.nft"); err != nil {
		t.Errorf("the victim was touched: %v", err)
	}
	if _, err := os.Lstat(victim + "/r.iptables"); err == nil {
		t.Error("a record was written through the symlink")
	}
}
