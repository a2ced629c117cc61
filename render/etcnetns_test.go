package render_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// etcNetnsSteps is a plan with the /etc/netns and run-as guards.
func etcNetnsSteps() plan.Plan {
	return plan.Plan{Steps: []plan.Step{
		plan.RequireEtcNetnsAbsent{Name: "alpha"},
		plan.RequireEtcNetnsClean{Name: "alpha"},
		plan.RequireRunAs{Netns: "alpha", User: "alice", UID: "1000"},
	}}
}

// TestEtcNetnsGuardsText pins the rendered guards: POSIX tests and find
// primaries only (no test -O, no -mindepth), the uid compared as a
// string, gid 0 matched as a whole word.
func TestEtcNetnsGuardsText(t *testing.T) {
	s, err := render.Script(etcNetnsSteps(), render.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`if test -L /etc/netns || { test -e /etc/netns && ! test -d /etc/netns; } || test -n "$(find /etc/netns -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) 2>/dev/null)"; then`,
		"if test -e /etc/netns/alpha || test -L /etc/netns/alpha; then",
		`test -n "$(find /etc/netns/alpha/. ! -name . -prune ! \( -name resolv.conf -type f -user 0 ! -perm -020 ! -perm -002 \) 2>/dev/null)"; then`,
		`if test "$(ip netns exec alpha id -u -- alice 2>/dev/null)" != 1000; then`,
		`case " $(ip netns exec alpha id -G -- alice 2>/dev/null) " in`,
		`*" 0 "* | "  ")`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"test -O", "-mindepth", "-maxdepth"} {
		if strings.Contains(s, bad) {
			t.Errorf("script uses non-POSIX %q", bad)
		}
	}
}

// TestEtcNetnsGuardsShellcheck runs shellcheck (and dash -n) on the
// guards.
func TestEtcNetnsGuardsShellcheck(t *testing.T) {
	s, err := render.Script(etcNetnsSteps(), render.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dash := needDash(t)
	cmd := exec.Command(dash, "-n")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dash -n: %v\n%s\n%s", err, out, s)
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (.ci/run installs it)")
		}
		t.Skip("shellcheck is not installed")
	}
	cmd = exec.Command(sc, "-s", "sh", "-S", "style", "-")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s\n%s", err, out, s)
	}
}
