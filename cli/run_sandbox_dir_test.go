package cli_test

import (
	"os/user"
	"strings"
	"testing"

	"github.com/npte/npte/exec"
)

// TestRunSandboxDirRefused (issue 11 item 9): netns run --sandbox refuses,
// live and with --dry-run, a working directory that is one of the trees
// the sandbox replaces or protects (/tmp, /proc, /dev, /sys, /run) or below
// one, with exit 2 and one line before anything runs; a directory that
// merely starts with those letters is accepted.
func TestRunSandboxDirRefused(t *testing.T) {
	for _, tc := range []struct {
		cwd   string
		under string // "" when accepted
	}{
		{"/run", "/run"},
		{"/run/npte", "/run"},
		{"/run/user/1000", "/run"},
		{"/run/netns/x", "/run"},
		{"/tmp", "/tmp"},
		{"/tmp/w", "/tmp"},
		{"/proc/self", "/proc"},
		{"/dev", "/dev"},
		{"/dev/shm", "/dev"},
		{"/sys", "/sys"},
		{"/sys/fs/cgroup", "/sys"},
		{"/runner", ""},
		{"/srv/run", ""},
		{"/devel/x", ""},
		{"/system", ""},
	} {
		for _, dry := range []bool{false, true} {
			name := tc.cwd
			if dry {
				name += " --dry-run"
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"netns", "run", "--sandbox"}
				if dry {
					args = append(args, "--dry-run")
				}
				args = append(args, "demo", "--", "id")
				f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, args...)
				var handed []string
				f.env.Exec = func(c exec.Cmd) error { handed = c.Argv; return nil }
				f.env.Getenv = func(k string) string { return map[string]string{"SUDO_USER": "alice"}[k] }
				f.env.LookupUser = func(n string) (*user.User, error) {
					if n != "alice" {
						return nil, user.UnknownUserError(n)
					}
					return &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, nil
				}
				f.env.Getwd = func() (string, error) { return tc.cwd, nil }
				code := f.run()
				out := f.stdout.String()
				if tc.under == "" {
					if code != 0 {
						t.Fatalf("exit %d, want 0: %s", code, f.stderr.String())
					}
					bind := "--bind " + tc.cwd + " " + tc.cwd
					if got := strings.Join(handed, " ") + out; !strings.Contains(got, bind) {
						t.Errorf("no %q in the hand-off or script:\n%s", bind, got)
					}
					return
				}
				e := strings.TrimRight(f.stderr.String(), "\n")
				if code != 2 || strings.Contains(e, "\n") || !strings.Contains(e, "is under "+tc.under) || !strings.Contains(e, tc.cwd) {
					t.Errorf("exit %d, stderr %q: want exit 2 and one line naming %s under %s", code, e, tc.cwd, tc.under)
				}
				if handed != nil || len(f.calls) != 0 || out != "" {
					t.Errorf("ran or printed something: hand-off %q, calls %q, stdout %q", handed, f.calls, out)
				}
			})
		}
	}
}
