package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/internal/fidelity"
)

// TestContainerFidelity compares the script and the live executor for
// the container verbs against real trees: plan.RequireRootfs reads the
// file system on both sides (the script with test and find, live with
// Lstat), so both take the same branch. As root the temporary tree
// belongs to root and the guards pass; otherwise both sides refuse it.
func TestContainerFidelity(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	full := filepath.Join(base, "full")
	for _, d := range []string{empty, full, filepath.Join(full, "etc")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shared := filepath.Join(base, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	link := filepath.Join(base, "link")
	os.Symlink(full, link)
	setup := fidelity.Setup{Managed: []string{"server"}}
	for _, args := range [][]string{
		{"container", "create", "bookworm", empty},
		{"container", "create", "--include", "iproute2", "bookworm", filepath.Join(base, "new")},
		{"container", "create", "bookworm", full},
		{"container", "create", "bookworm", filepath.Join(shared, "x")},
		{"container", "run", "--netns", "server", full, "--", "ip", "-br", "addr"},
		{"container", "run", full},
		{"container", "run", link, "--", "true"},
		{"container", "run", "--netns", "client", full, "--", "true"},
		{"container", "run", filepath.Join(base, "missing")},
		{"container", "boot", "--netns", "server", "--bind", "/dev/net/tun", full},
	} {
		t.Run(strings.Join(args[1:2], ""), func(t *testing.T) {
			live := fidelity.Check(t, setup, fidelity.AllSucceed, args...)
			t.Logf("npte %s: exit %d, %d programs", strings.Join(args, " "), live.Exit, len(live.Events))
		})
	}
}
