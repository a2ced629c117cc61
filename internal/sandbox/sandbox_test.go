package sandbox

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPrivateRefusesTheHost checks the guard that every sandbox setup and
// every writing test helper calls first: in the test's own process, which
// shares the machine's namespaces, Private must refuse; in a child made by
// unshare --mount --net it must agree.
func TestPrivateRefusesTheHost(t *testing.T) {
	if os.Getenv("NPTE_TEST_PRIVATE_CHILD") != "" {
		if err := Private(); err != nil {
			t.Fatalf("inside unshare --mount --net: %v", err)
		}
		return
	}
	if Inside() {
		t.Skip("runs outside the sandbox only")
	}
	if err := Private(); err == nil {
		t.Fatal("Private() accepted the machine's own namespaces")
	} else if !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("unexpected refusal text: %v", err)
	}
	// A process that inherited a child's variables but not its unshare
	// (its parent's record names its own namespaces) is refused too.
	own, err := namespaces("self")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(parentNSVar, own)
	if err := Private(); err == nil {
		t.Fatal("Private() accepted a process in its parent's namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("the unshare half needs root")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "--", self,
		"-test.run", "^TestPrivateRefusesTheHost$", "-test.count=1")
	if cmd.Env, err = ChildEnv("NPTE_TEST_PRIVATE_CHILD=1"); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
