package cli_test

import (
	"os/user"
	"strings"
	"testing"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/internal/fidelity"
)

// TestRunAsFidelity: netns run's check of the user inside the namespace
// (plan.RequireRunAs) runs the same id commands live and from the script
// and takes the same branch: another uid, a gid 0 among the groups, or no
// output at all are refused with exit 2 by both, before the hand-off.
func TestRunAsFidelity(t *testing.T) {
	for _, tc := range []struct {
		name        string
		uid, groups string
		want        int
	}{
		{"the host's uid, own groups", "1000", "1000 27 100", 0},
		{"uid 0 inside", "0", "", 2},
		{"another uid inside", "1001", "", 2},
		{"uid with padding", " 1000", "", 2},
		{"gid 0 first", "1000", "0 1000", 2},
		{"gid 0 among others", "1000", "1000 0 27", 2},
		{"gid 0 last", "1000", "1000 27 0", 2},
		{"gid 00 is not gid 0 to id", "1000", "1000 00", 0},
		{"gid 10 is not gid 0", "1000", "10 100", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fidelity.Setup{Managed: []string{"a"}, SudoUser: "alice", InsideUID: tc.uid, InsideGroups: tc.groups}
			r := fidelity.Check(t, s, fidelity.AllSucceed, "netns", "run", "a", "--", "id")
			if r.Exit != tc.want {
				t.Fatalf("exit %d, want %d: %s", r.Exit, tc.want, r.Stderr)
			}
			last := strings.Join(r.Events[len(r.Events)-1].Argv, " ")
			if handed := strings.Contains(last, "runuser"); handed != (tc.want == 0) {
				t.Errorf("last program %q: hand-off %v, want %v", last, handed, tc.want == 0)
			}
			if tc.want == 2 && strings.Count(strings.TrimRight(r.Stderr, "\n"), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", r.Stderr)
			}
		})
	}
}

// TestRunUserFlag covers --user and its interplay with $SUDO_USER, and
// the gid 0 checks of both, in a fake environment.
func TestRunUserFlag(t *testing.T) {
	users := map[string]*user.User{
		"alice": {Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"},
		"bob":   {Username: "bob", Uid: "1001", Gid: "1001", HomeDir: "/home/bob"},
		"toor":  {Username: "toor", Uid: "0", Gid: "0", HomeDir: "/root"},
		"gzero": {Username: "gzero", Uid: "1002", Gid: "0", HomeDir: "/home/gzero"},
		"wheel": {Username: "wheel", Uid: "1003", Gid: "1003", HomeDir: "/home/wheel"},
	}
	groups := map[string][]string{"wheel": {"1003", "0"}, "alice": {"1000", "27"}}
	for _, tc := range []struct {
		name string
		sudo string
		args []string
		code int
		want string // fragment of stderr (2) or of the hand-off argv (0)
	}{
		{"root login with --user", "", []string{"--user", "alice"}, 0, "runuser -u alice -- "},
		{"root login without --user", "", nil, 2, "pass --user NAME"},
		{"the refusal names ip netns exec", "", nil, 2, "ip netns exec NS CMD"},
		{"--user root", "", []string{"--user", "root"}, 2, "--user is root"},
		{"--user uid-0 alias", "", []string{"--user", "toor"}, 2, "uid 0"},
		{"--user primary gid 0", "", []string{"--user", "gzero"}, 2, "group 0"},
		{"--user supplementary gid 0", "", []string{"--user", "wheel"}, 2, "group 0"},
		{"--user unknown", "", []string{"--user", "nobody1"}, 2, "no such user"},
		{"--user malformed", "", []string{"--user", "Alice"}, 2, "--user: invalid user name"},
		{"--user empty is no --user", "", []string{"--user", ""}, 2, "pass --user NAME"},
		{"SUDO_USER primary gid 0", "gzero", nil, 2, "group 0"},
		{"SUDO_USER supplementary gid 0", "wheel", nil, 2, "group 0"},
		{"SUDO_USER root without --user", "root", nil, 2, "$SUDO_USER is root"},
		{"SUDO_USER root with --user", "root", []string{"--user", "alice"}, 0, "runuser -u alice -- "},
		{"under sudo, --user repeats SUDO_USER", "alice", []string{"--user", "alice"}, 0, "runuser -u alice -- "},
		{"under sudo, --user names another", "alice", []string{"--user", "bob"}, 2, "--user may only name that user"},
		{"under sudo, --user root", "alice", []string{"--user", "root"}, 2, "--user may only name that user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"netns", "run"}, tc.args...), "demo", "--", "id")
			f := newWFakeEnv(t, []string{"demo"}, wShowAnswer, args...)
			var handed []string
			f.env.Exec = func(c exec.Cmd) error { handed = c.Argv; return nil }
			f.env.Getenv = func(k string) string { return map[string]string{"SUDO_USER": tc.sudo}[k] }
			f.env.LookupUser = func(n string) (*user.User, error) {
				if u, ok := users[n]; ok {
					return u, nil
				}
				return nil, user.UnknownUserError(n)
			}
			f.env.UserGroups = func(u *user.User) ([]string, error) {
				if g, ok := groups[u.Username]; ok {
					return g, nil
				}
				return []string{u.Gid}, nil
			}
			code := f.run()
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, f.stderr.String())
			}
			if code == 2 {
				e := strings.TrimRight(f.stderr.String(), "\n")
				if !strings.Contains(e, tc.want) || strings.Contains(e, "\n") || handed != nil || len(f.calls) != 0 {
					t.Errorf("stderr %q (want one line with %q), calls %q, hand-off %q", e, tc.want, f.calls, handed)
				}
				return
			}
			if j := strings.Join(handed, " "); !strings.Contains(j, tc.want) {
				t.Errorf("hand-off %q, want %q", j, tc.want)
			}
		})
	}
}

// TestRunUserFlagInScriptHeader: the script of a root login's run names
// --user in its header, so that what was asked is on record.
func TestRunUserFlagInScriptHeader(t *testing.T) {
	out, errOut, code := fidelity.DryRun(t, fidelity.Setup{SudoUser: "alice"}, "netns", "run", "--dry-run", "--user", "alice", "a", "--", "id")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "npte netns run --user alice a -- id\n") {
		t.Errorf("header does not repeat --user:\n%s", out)
	}
}

// TestSudoersRefusesRoot: the grant is never for root or uid 0.
func TestSudoersRefusesRoot(t *testing.T) {
	for _, tc := range []struct {
		args []string
		uid  string
		code int
	}{
		{[]string{"sudoers", "--user", "root"}, "0", 2},
		{[]string{"sudoers", "--user", "toor"}, "0", 2},
		{[]string{"sudoers", "--user", "toor"}, "00", 2},
		{[]string{"sudoers", "--user", "alice"}, "1000", 0},
		{[]string{"sudoers", "--user", "elsewhere"}, "", 0}, // unknown here: printed for another machine
	} {
		f := newWFakeEnv(t, nil, wShowAnswer, tc.args...)
		f.env.LookupUser = func(n string) (*user.User, error) {
			if tc.uid == "" {
				return nil, user.UnknownUserError(n)
			}
			return &user.User{Username: n, Uid: tc.uid}, nil
		}
		code := f.run()
		e := strings.TrimRight(f.stderr.String(), "\n")
		if code != tc.code || tc.code == 2 && (f.stdout.Len() != 0 || strings.Contains(e, "\n") || !strings.Contains(e, "uid 0")) {
			t.Errorf("%q (uid %q): exit %d, want %d; stdout %q, stderr %q", tc.args, tc.uid, code, tc.code, f.stdout.String(), e)
		}
	}
}
