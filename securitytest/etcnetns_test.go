package securitytest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	npteexec "github.com/npte/npte/exec"
	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

// rootPasswd is a passwd that makes testUser uid 0: what an /etc/netns/NAME
// planted by an attacker would hold.
const rootPasswd = "root:x:0:0:root:/root:/bin/sh\n" + testUser + ":x:0:0::/tmp:/bin/sh\n"

// writeSandboxFile writes a file below /etc/netns or /run, only on the
// sandbox's own tmpfs mounts.
func writeSandboxFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	mustBeSandboxed(t)
	if !strings.HasPrefix(p, "/etc/netns/") && !strings.HasPrefix(p, "/run/") {
		t.Fatalf("refusing to write %s: not on the sandbox's tmpfs", p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// chownSandbox and chmodSandbox change a path on the sandbox's tmpfs.
func chownSandbox(t *testing.T, p string, uid int) {
	t.Helper()
	mustBeSandboxed(t)
	if err := os.Lchown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func chmodSandbox(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	mustBeSandboxed(t)
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// oneRefusal checks a refusal: exit 2, nothing on stdout (the command did
// not run), and one "npte: " line on stderr.
func oneRefusal(t *testing.T, what string, r result) {
	t.Helper()
	msg := strings.TrimRight(r.Stderr, "\n")
	if r.Code != 2 || r.Stdout != "" || !strings.HasPrefix(msg, "npte: ") || strings.Contains(msg, "\n") {
		t.Errorf("%s: want exit 2, no output and one npte: line, got:\n%s", what, r)
	}
}

// TestCreateRefusesForeignEtcNetns (issue 10, item 1): netns create
// refuses, live and as a script, with exit 2 and nothing changed, an
// /etc/netns/NAME that already exists (a planted passwd that makes the
// sudo user uid 0, an empty directory, a lone resolv.conf, a dangling
// symlink) and an /etc/netns that is group- or world-writable or not
// owned by root. lab create refuses too. On a clean /etc/netns create
// writes nothing there but NAME/resolv.conf.
func TestCreateRefusesForeignEtcNetns(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	cases := []struct {
		name  string
		setup func(t *testing.T)
		verb  []string
	}{
		{"planted passwd making the user uid 0", func(t *testing.T) {
			writeSandboxFile(t, "/etc/netns/pw/passwd", rootPasswd, 0o644)
		}, nil},
		{"empty root-owned directory", func(t *testing.T) { mkdir(t, "/etc/netns/pw", 0o755) }, nil},
		{"a resolv.conf npte did not write", func(t *testing.T) {
			writeSandboxFile(t, "/etc/netns/pw/resolv.conf", "nameserver 192.0.2.1\n", 0o644)
		}, nil},
		{"dangling symlink", func(t *testing.T) { symlink(t, "/run/nowhere", "/etc/netns/pw") }, nil},
		{"/etc/netns group-writable", func(t *testing.T) { chmodSandbox(t, "/etc/netns", 0o775) }, nil},
		{"/etc/netns world-writable and sticky", func(t *testing.T) { chmodSandbox(t, "/etc/netns", 0o1777) }, nil},
		{"/etc/netns owned by the user", func(t *testing.T) { chownSandbox(t, "/etc/netns", 4242) }, nil},
		{"lab: planted passwd for the router", func(t *testing.T) {
			writeSandboxFile(t, "/etc/netns/router/passwd", rootPasswd, 0o644)
		}, []string{"lab", "create"}},
		{"lab: /etc/netns group-writable", func(t *testing.T) { chmodSandbox(t, "/etc/netns", 0o775) }, []string{"lab", "create"}},
		{"chain: planted passwd for the last node", func(t *testing.T) {
			writeSandboxFile(t, "/etc/netns/ns5/passwd", rootPasswd, 0o644)
		}, []string{"lab", "chain", "5"}},
	}
	refused := 0
	for _, c := range cases {
		verb := c.verb
		if verb == nil {
			verb = []string{"netns", "create", "pw"}
		}
		for _, script := range []bool{false, true} {
			reset(t)
			stateDirs(t)
			c.setup(t)
			before := fsSnapshot(stateRoots...)
			args := append([]string(nil), verb...)
			if script {
				args = append(args, "--dry-run")
			}
			r := run(bg(t), t, proc{Args: args, Script: script, Env: []string{"SUDO_USER=" + testUser}})
			oneRefusal(t, c.name+" script="+boolWord(script), r)
			if after := fsSnapshot(stateRoots...); after != before {
				t.Errorf("%s script=%v: state changed:\n--- before\n%s--- after\n%s", c.name, script, before, after)
			}
			if ns := listDir("/run/netns"); len(ns) > 0 {
				t.Errorf("%s script=%v: namespaces made: %v", c.name, script, ns)
			}
			refused++
		}
	}
	// Control: a clean /etc/netns; npte writes only NAME/resolv.conf.
	reset(t)
	for _, script := range []bool{false, true} {
		args := []string{"netns", "create", "pw"}
		if script {
			args = append(args, "--dry-run")
		}
		if r := run(bg(t), t, proc{Args: args, Script: script}); r.Code != 0 {
			t.Fatalf("create on a clean /etc/netns:\n%s", r)
		}
		if got := strings.Join(listDir("/etc/netns/pw"), " "); got != "resolv.conf" {
			t.Errorf("script=%v: /etc/netns/pw holds %q, want only resolv.conf", script, got)
		}
		mustRun(t, 0, "netns", "destroy", "pw")
	}
	t.Logf("netns/lab create: %d refusals of a foreign /etc/netns/NAME or an unsafe /etc/netns (live and script), state unchanged each time", refused)
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestRunRefusesForeignEtcNetns (issue 10, item 1): after a clean create,
// anything planted in /etc/netns/NAME other than npte's root-owned
// resolv.conf (a passwd making the user uid 0, a group making it a member
// of root, an ld.so.preload, a directory, a resolv.conf that is a symlink,
// writable by others or owned by the user, the directory itself writable
// by others, owned by the user, or a symlink to a planted directory)
// makes netns run refuse, live and as a script, before the command runs.
func TestRunRefusesForeignEtcNetns(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	reset(t)
	const d = "/etc/netns/rn"
	cases := []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"planted passwd making the user uid 0", func(t *testing.T) { writeSandboxFile(t, d+"/passwd", rootPasswd, 0o644) }},
		{"planted group making the user a member of root", func(t *testing.T) {
			writeSandboxFile(t, d+"/group", "root:x:0:"+testUser+"\n"+testUser+":x:4242:\n", 0o644)
		}},
		{"planted ld.so.preload", func(t *testing.T) { writeSandboxFile(t, d+"/ld.so.preload", "/run/evil.so\n", 0o644) }},
		{"planted directory", func(t *testing.T) { mkdir(t, d+"/sudoers.d", 0o755) }},
		{"resolv.conf is a symlink", func(t *testing.T) {
			removeFile(t, d+"/resolv.conf")
			symlink(t, "/run/npte/lock", d+"/resolv.conf")
		}},
		{"resolv.conf writable by others", func(t *testing.T) { chmodSandbox(t, d+"/resolv.conf", 0o666) }},
		{"resolv.conf owned by the user", func(t *testing.T) { chownSandbox(t, d+"/resolv.conf", 4242) }},
		{"the directory writable by others", func(t *testing.T) { chmodSandbox(t, d, 0o777) }},
		{"the directory owned by the user", func(t *testing.T) { chownSandbox(t, d, 4242) }},
		{"the directory is a symlink to a planted one", func(t *testing.T) {
			writeSandboxFile(t, "/run/planted/passwd", rootPasswd, 0o644)
			writeSandboxFile(t, "/run/planted/resolv.conf", "nameserver 192.0.2.1\n", 0o644)
			mustBeSandboxed(t)
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
			symlink(t, "/run/planted", d)
		}},
	}
	runArgs := func(script bool) []string {
		args := []string{"netns", "run"}
		if script {
			args = append(args, "--dry-run")
		}
		return append(args, "rn", "--", "id", "-u")
	}
	refused := 0
	for _, c := range cases {
		mustRun(t, 0, "netns", "create", "rn")
		c.setup(t)
		for _, script := range []bool{false, true} {
			r := run(bg(t), t, proc{Args: runArgs(script), Script: script, Env: []string{"SUDO_USER=" + testUser}})
			oneRefusal(t, c.name+" script="+boolWord(script), r)
			refused++
		}
		mustRun(t, 0, "netns", "destroy", "rn")
		if exists(d) {
			t.Fatalf("%s: destroy left %s", c.name, d)
		}
	}
	// Control: untouched, the command runs as the user.
	mustRun(t, 0, "netns", "create", "rn")
	for _, script := range []bool{false, true} {
		r := run(bg(t), t, proc{Args: runArgs(script), Script: script, Env: []string{"SUDO_USER=" + testUser}})
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "4242" {
			t.Errorf("script=%v: clean namespace, want uid 4242, got:\n%s", script, r)
		}
	}
	mustRun(t, 0, "netns", "destroy", "rn")
	t.Logf("netns run: %d refusals of a tampered /etc/netns/NAME (live and script), none ran the command", refused)
}

// TestRunRefusesGroupZero (issue 10, item 1): a user whose primary group
// is gid 0, or who is a member of group root, is refused as $SUDO_USER and
// as --user, live and as a script.
func TestRunRefusesGroupZero(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	reset(t)
	mustRun(t, 0, "netns", "create", "gz")
	n := 0
	for _, u := range []string{gid0User, wheelUser} {
		for _, viaFlag := range []bool{false, true} {
			for _, script := range []bool{false, true} {
				args := []string{"netns", "run"}
				env := []string{"SUDO_USER=" + u}
				if viaFlag {
					args = append(args, "--user", u)
					env = []string{"SUDO_USER="}
				}
				if script {
					args = append(args, "--dry-run")
				}
				args = append(args, "gz", "--", "id", "-G")
				r := run(bg(t), t, proc{Args: args, Script: script, Env: env})
				oneRefusal(t, u+" flag="+boolWord(viaFlag)+" script="+boolWord(script), r)
				if !strings.Contains(r.Stderr, "group 0") {
					t.Errorf("%s: the refusal does not name group 0: %s", u, r.Stderr)
				}
				n++
			}
		}
	}
	mustRun(t, 0, "netns", "destroy", "gz")
	t.Logf("netns run: %d refusals of users with gid 0 (primary or supplementary; $SUDO_USER and --user; live and script)", n)
}

// TestRunAsChecksInsideNamespace runs plan.RequireRunAs alone, live
// (exec.Runner) and rendered (dash), against the real id(1) inside a
// namespace: the expected uid and no gid 0 pass; another uid, gid 0
// (primary or supplementary), an unknown user, and an /etc/netns/NAME
// overlay that makes the user uid 0 (here without the file guard in front)
// are refused with exit 2 by both.
func TestRunAsChecksInsideNamespace(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	reset(t)
	sandbox.Run(t, "ip", "netns", "add", "ra")
	defer sandbox.Run(t, "ip", "netns", "del", "ra")
	cases := []struct {
		name, user, uid string
		overlay         bool
		want            int
	}{
		{"the user as the host knows it", testUser, "4242", false, 0},
		{"another uid than expected", testUser, "4243", false, 2},
		{"primary gid 0", gid0User, "4343", false, 2},
		{"member of group root", wheelUser, "4344", false, 2},
		{"unknown user", "nosuchuser", "4242", false, 2},
		{"overlay makes the user uid 0", testUser, "4242", true, 2},
	}
	for _, c := range cases {
		mustBeSandboxed(t)
		_ = os.RemoveAll("/etc/netns/ra")
		if c.overlay {
			writeSandboxFile(t, "/etc/netns/ra/passwd", rootPasswd, 0o644)
		}
		p := plan.Plan{Steps: []plan.Step{plan.RequireRunAs{Netns: "ra", User: c.user, UID: c.uid}}}
		live := 0
		var se *npteexec.StepError
		if err := (&npteexec.Runner{Stdout: io.Discard, Stderr: io.Discard}).Run(context.Background(), p); errors.As(err, &se) {
			live = se.Code
		} else if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		script, err := render.Script(p, render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("dash", "-c", script)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		sh := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("dash: %v", err)
			}
			sh = ee.ExitCode()
		}
		if live != c.want || sh != c.want {
			t.Errorf("%s: live exit %d, script exit %d (%s), want %d", c.name, live, sh, strings.TrimSpace(stderr.String()), c.want)
		}
	}
	_ = os.RemoveAll("/etc/netns/ra")
	t.Logf("RequireRunAs: %d cases against id(1) inside a namespace, live and dash agree", len(cases))
}

// TestSandboxWorkingDirectoryIsReal (issue 10, item 2): with the working
// directory reached through a symbolic link (outside /tmp) to a directory
// under /tmp, and PWD naming the link, netns run --sandbox refuses (live
// and dry-run): npte resolves the real directory and never believes $PWD.
// The same link to a directory outside the protected trees is bound by
// its real path.
func TestSandboxWorkingDirectoryIsReal(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	reset(t)
	base, err := os.MkdirTemp("/var/tmp", "npte-cwd-")
	if err != nil {
		t.Skipf("no /var/tmp to make a test directory in: %v", err)
	}
	defer os.RemoveAll(base) // holds only what this test made
	underTmp := t.TempDir()
	if !strings.HasPrefix(underTmp, "/tmp/") {
		t.Skipf("the test's temporary directory %s is not under /tmp", underTmp)
	}
	real := filepath.Join(base, "real")
	mkdir(t, real, 0o755)
	toTmp, toReal := filepath.Join(base, "to-tmp"), filepath.Join(base, "to-real")
	symlink(t, underTmp, toTmp)
	symlink(t, real, toReal)
	for _, dry := range []bool{true, false} {
		args := []string{"netns", "run", "--sandbox"}
		if dry {
			args = append(args, "--dry-run")
		}
		args = append(args, "cw", "--", "true")
		r := runIn(t, toTmp, args, "PWD="+toTmp, "SUDO_USER="+testUser)
		oneRefusal(t, "cwd through a link into /tmp, dry="+boolWord(dry), r)
		if !strings.Contains(r.Stderr, "under /tmp") {
			t.Errorf("dry=%v: the refusal does not say the directory is under /tmp: %s", dry, r.Stderr)
		}
	}
	r := runIn(t, toReal, []string{"netns", "run", "--sandbox", "--dry-run", "cw", "--", "true"}, "PWD="+toReal, "SUDO_USER="+testUser)
	if r.Code != 0 || !strings.Contains(r.Stdout, " --bind "+real+" "+real+" --chdir "+real+" ") || strings.Contains(r.Stdout, toReal) {
		t.Errorf("cwd through a link to %s: want the real path bound, got:\n%s", real, r)
	}
	t.Logf("--sandbox: a working directory reached through a link into /tmp (PWD naming the link) is refused; a link elsewhere binds the real path %s", real)
}

// runIn runs npte with args in directory dir, with extra environment.
func runIn(t *testing.T, dir string, args []string, env ...string) result {
	t.Helper()
	cmd := exec.CommandContext(bg(t), npteBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{Args: args, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("npte %q: %v", args, err)
	}
	return r
}

// TestNetnsRunUserFlag (issue 10, item 17): logged in as root without
// sudo, netns run --user NAME runs the command as NAME (live and script);
// without --user the refusal names both ways and ip netns exec; --user is
// checked as $SUDO_USER is (root, a uid-0 alias, gid 0, unknown: refused);
// under sudo from an unprivileged account --user may only repeat
// $SUDO_USER.
func TestNetnsRunUserFlag(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	reset(t)
	mustRun(t, 0, "netns", "create", "ru")
	cases := []struct {
		name string
		sudo string
		flag []string
		want int
		msg  string // fragment of the refusal
	}{
		{"root login, --user", "", []string{"--user", testUser}, 0, ""},
		{"root login, no --user", "", nil, 2, "--user NAME"},
		{"root login, --user root", "", []string{"--user", "root"}, 2, "root"},
		{"root login, --user a uid-0 alias", "", []string{"--user", toorUser}, 2, "uid 0"},
		{"root login, --user with gid 0", "", []string{"--user", gid0User}, 2, "group 0"},
		{"root login, --user unknown", "", []string{"--user", "nosuchuser"}, 2, "no such user"},
		{"root login, --user malformed", "", []string{"--user=-root"}, 2, "user name"},
		{"sudo from root, --user", "root", []string{"--user", testUser}, 0, ""},
		{"under sudo, --user repeats SUDO_USER", testUser, []string{"--user", testUser}, 0, ""},
		{"under sudo, --user names another user", testUser, []string{"--user", "nobody"}, 2, "$SUDO_USER"},
		{"under sudo, --user root", testUser, []string{"--user", "root"}, 2, "$SUDO_USER"},
	}
	for _, c := range cases {
		for _, script := range []bool{false, true} {
			args := append([]string{"netns", "run"}, c.flag...)
			if script {
				args = append(args, "--dry-run")
			}
			args = append(args, "ru", "--", "id", "-u")
			r := run(bg(t), t, proc{Args: args, Script: script, Env: []string{"SUDO_USER=" + c.sudo}})
			what := c.name + " script=" + boolWord(script)
			if c.want == 0 {
				if r.Code != 0 || strings.TrimSpace(r.Stdout) != "4242" {
					t.Errorf("%s: want uid 4242, got:\n%s", what, r)
				}
				continue
			}
			oneRefusal(t, what, r)
			if !strings.Contains(r.Stderr, c.msg) {
				t.Errorf("%s: the refusal does not mention %q: %s", what, c.msg, r.Stderr)
			}
		}
	}
	r := run(bg(t), t, proc{Args: []string{"netns", "run", "ru", "--", "id"}, Env: []string{"SUDO_USER="}})
	if !strings.Contains(r.Stderr, "sudo npte netns run") || !strings.Contains(r.Stderr, "ip netns exec") {
		t.Errorf("the refusal of a root login does not name both ways and ip netns exec: %s", r.Stderr)
	}
	mustRun(t, 0, "netns", "destroy", "ru")
	t.Logf("netns run --user: %d cases, live and script", 2*len(cases))
}

// TestSudoersRefusesRoot (issue 10, item 16): npte sudoers --user root,
// or another name for uid 0, is refused with exit 2 and one line, and
// prints no rule.
func TestSudoersRefusesRoot(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	privateUsers(t)
	for _, u := range []string{"root", toorUser} {
		r := run(bg(t), t, proc{Args: []string{"sudoers", "--user", u}})
		oneRefusal(t, "sudoers --user "+u, r)
	}
	if r := run(bg(t), t, proc{Args: []string{"sudoers", "--user", testUser}}); r.Code != 0 || !strings.Contains(r.Stdout, testUser+" ALL=(root) NOPASSWD:") {
		t.Errorf("sudoers --user %s:\n%s", testUser, r)
	}
}
