package uml

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// GuestVar is set, in the guest, to the name of the top-level test the
// guest runs.
const GuestVar = "NPTE_UML_GUEST"

// Guest reports whether this process runs inside a UML guest started by
// Enter.
func Guest() bool { return os.Getenv(GuestVar) != "" }

// Enter runs the calling top-level test inside a fresh UML kernel that
// has modules loaded (see Options.Modules), with env added to its
// environment. On the host it boots the kernel with this test binary
// (-test.run ^NAME$), forwards the guest's log lines, fails the test if
// the guest's run failed, and returns false; in the guest it returns true
// and the test body runs there. It skips, with one loud line, only when
// the user-mode-linux kernel is not installed.
//
//	if !uml.Enter(t, uml.StandardModules, "NPTE_BIN="+npte) {
//		return
//	}
func Enter(t *testing.T, modules []string, timeout time.Duration, env ...string) bool {
	t.Helper()
	if os.Getenv(GuestVar) == t.Name() {
		return true
	}
	if _, _, err := Kernel(); err != nil {
		t.Skipf("UML KERNEL TESTS SKIPPED: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{self, "-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v",
		"-test.timeout", timeout.String()}
	env = append(env, GuestVar+"="+t.Name(), "HOME=/tmp", "GOTRACEBACK=all")
	res, err := Boot(context.Background(), Options{Argv: argv, Env: env, Modules: modules, Mem: "768M", Timeout: timeout + 30*time.Second})
	t.Logf("UML boot+run of %s: %.1f s, guest status %d", t.Name(), res.Elapsed.Seconds(), res.Status)
	forward(t, res.Output)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, tail(res.Console, 40))
	}
	for _, l := range strings.Split(res.Console, "\n") {
		if strings.HasPrefix(l, "npte-uml:") {
			t.Errorf("guest init: %s", l)
		}
	}
	if res.Status != 0 || !strings.Contains(res.Output, "--- PASS: "+t.Name()) {
		t.Fatalf("guest run of %s failed (status %d):\n%s\nconsole:\n%s", t.Name(), res.Status, res.Output, tail(res.Console, 20))
	}
	return false
}

// forward logs the guest's test log lines (measured figures) and its
// subtest results on the host.
func forward(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		s := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(s, "--- "), strings.HasPrefix(l, "    "):
			t.Log(s)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Must fails the test unless this process runs inside a UML guest (the
// environment variable Enter sets, and a kernel whose /proc/cpuinfo says
// User Mode Linux): guest code that changes kernel state calls it first,
// so that it can never run on the host.
func Must(t testing.TB) {
	t.Helper()
	if !Guest() {
		t.Fatal("uml: this code changes kernel state and runs only inside a UML guest")
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || !strings.Contains(string(b), "UML") {
		t.Fatal("uml: /proc/cpuinfo does not say User Mode Linux; refusing to change anything")
	}
}
