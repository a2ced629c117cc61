// Package kerneltest runs npte against real kernels: each test boots a
// user-mode Linux kernel (internal/uml) with a chosen set of modules and
// runs its body inside it, where it creates labs, shapes links and
// measures what the kernel does.
package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/npte/npte/internal/uml"
)

// binVar carries the npte binary (built on the host) into the guest.
const binVar = "NPTE_UML_BIN"

func TestMain(m *testing.M) {
	if uml.Guest() || os.Getenv(binVar) != "" {
		// In the guest; or on the host with a given npte binary (to
		// check that a test fails on an older build).
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "npte-kerneltest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "npte")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/npte/npte").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build npte: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	os.Setenv(binVar, bin)
	code := m.Run()
	os.RemoveAll(dir) // our own temp dir
	os.Exit(code)
}

// npte returns the npte binary (host side: to pass to the guest; guest
// side: to run).
func npteBin() string { return os.Getenv(binVar) }
