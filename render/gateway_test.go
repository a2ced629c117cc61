package render_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// TestOutputStepsInShells runs the renderings of RequireNoRoute and
// IfOutput under every POSIX shell installed, inside the sandbox, with
// printf standing in for ip: the same listing must give the same verdict
// as live npte's (exec) reading of it.
func TestOutputStepsInShells(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if err := sandbox.Private(); err != nil {
		t.Fatal(err)
	}
	shells := [][]string{{"dash"}, {"bash", "--posix"}, {"busybox", "sh"}, {"yash"}, {"posh"}, {"mksh"}}
	listing := func(lines ...string) []string {
		return append([]string{"printf", `%s\n`}, lines...)
	}
	for _, tc := range []struct {
		name string
		step plan.Step
		code int
		out  string
	}{
		{"empty", plan.RequireNoRoute{Argv: []string{"true"}, Message: "m"}, 0, ""},
		{"defaults only", plan.RequireNoRoute{Argv: listing("default via 10.0.0.1 dev eth0 ", "unreachable default dev lo table 7 metric 4278198272", ""), Message: "m"}, 0, ""},
		{"a route", plan.RequireNoRoute{Argv: listing("default via 10.0.0.1 dev eth0", "172.16.0.0/12 dev eth0 table default proto static"), Message: "10.1.0.0/24 overlaps"}, 2,
			"npte: 10.1.0.0/24 overlaps: 172.16.0.0/12 dev eth0 table default proto static"},
		{"an address with a backslash", plan.RequireNoRoute{Argv: listing(`3: wan    inet 10.1.0.5/24 scope global wan\       valid_lft forever`), Message: "m"}, 2,
			`npte: m: 3: wan inet 10.1.0.5/24 scope global wan\       valid_lft forever`},
		{"listing fails", plan.RequireNoRoute{Argv: []string{"false"}, Message: "m"}, 1, ""},
		{"output", plan.IfOutput{Argv: listing("7: if-a: group 28272"), Then: []plan.Step{plan.Command{Argv: []string{"echo", "then"}}}}, 0, "then"},
		{"no output", plan.IfOutput{Argv: []string{"true"}, Then: []plan.Step{plan.Command{Argv: []string{"echo", "then"}}}}, 0, ""},
		{"no output, failing", plan.IfOutput{Argv: []string{"false"}, Then: []plan.Step{plan.Command{Argv: []string{"echo", "then"}}}}, 0, ""},
	} {
		script, err := render.Script(plan.Plan{Argv: []string{"test"}, Steps: []plan.Step{tc.step, plan.Command{Argv: []string{"true"}}}}, render.Options{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range shells {
			if _, err := exec.LookPath(sh[0]); err != nil {
				continue
			}
			cmd := exec.Command(sh[0], append(sh[1:], "-c", script)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(stdout.String() + stderr.String())
			if code != tc.code || tc.code != 1 && got != tc.out {
				t.Errorf("%s under %v: exit %d, output %q; want %d, %q\n%s", tc.name, sh, code, got, tc.code, tc.out, script)
			}
		}
	}
}
