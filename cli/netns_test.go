package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// nsInproc is one in-process npte run against a private state layout and a
// directory of fake programs: no program runs, every argv is recorded.
type nsInproc struct {
	t      *testing.T
	root   string
	env    cli.Env
	stdout bytes.Buffer
	stderr bytes.Buffer
	calls  []string
	// fail makes the program with this argv (joined by spaces) exit 1.
	fail string
}

func newNsInproc(t *testing.T) *nsInproc {
	t.Helper()
	root := t.TempDir()
	_ = os.Chmod(root, 0o755)
	layout := shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns")}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{layout.RunNetns, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range exec.Tools() {
		if err := os.WriteFile(filepath.Join(bin, tool.Name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &nsInproc{t: t, root: root}
	p.env = cli.Env{
		Stdin:   strings.NewReader(""),
		Stdout:  &p.stdout,
		Stderr:  &p.stderr,
		Getenv:  func(string) string { return "" },
		Euid:    0,
		Version: "test",
		Layout:  layout,
		Owner:   os.Getuid(),
		Dirs:    []string{bin},
		Start: func(_ context.Context, c exec.Cmd) error {
			line := strings.Join(c.Argv, " ")
			p.calls = append(p.calls, line)
			if c.Stdin != nil {
				_, _ = io.Copy(io.Discard, c.Stdin)
			}
			if line == p.fail {
				return nsFakeExit(1)
			}
			return nil
		},
		Exec:       func(exec.Cmd) error { return fmt.Errorf("no handoff in tests") },
		Signals:    make(chan os.Signal, 1),
		LookupUser: user.Lookup,
		Getwd:      func() (string, error) { return "/", nil },
	}
	return p
}

type nsFakeExit int

func (e nsFakeExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e nsFakeExit) ExitCode() int { return int(e) }

// run runs npte ARGS and returns its exit code; output accumulates.
func (p *nsInproc) run(args ...string) int {
	p.t.Helper()
	p.stdout.Reset()
	p.stderr.Reset()
	p.env.Args = args
	return cli.Main(p.env)
}

func (p *nsInproc) layout() shell.Layout { return p.env.Layout }

// tree is a listing of everything under the private root except the fake
// programs: what npte could have changed.
func (p *nsInproc) tree() string {
	p.t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(p.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "bin" && d.IsDir() {
			return filepath.SkipDir
		}
		fi, _ := d.Info()
		fmt.Fprintf(&b, "%s %v %d\n", strings.TrimPrefix(path, p.root), fi.Mode(), fi.Size())
		return nil
	})
	return b.String()
}

func (p *nsInproc) touch(path string) {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func TestNetnsHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"netns", "--dry-run"}},
		{[]string{"netns", "--help"}, []string{"create", "destroy", "list"}},
		{[]string{"netns", "create", "--help"}, []string{"ip netns add NAME", "modprobe", "sysctl", "tcp_rmem", "forwarding", "resolv.conf", "marker", "lock", "Refuses", "exit 2", "--dry-run", "--dns", "at most 12"}},
		{[]string{"netns", "create", "-h"}, []string{"ip netns add NAME"}},
		{[]string{"netns", "destroy", "--help"}, []string{"ip netns del NAME", "/etc/netns/NAME", "marker", "Refuses", "exit 2", "npte did not make", "--dry-run"}},
		{[]string{"netns", "list", "--help"}, []string{"one per line", "sorted", "exit 0", "--json", "never listed"}},
	} {
		p := newNsInproc(t)
		before := p.tree()
		if code := p.run(c.args...); code != 0 {
			t.Errorf("npte %s: exit %d, stderr %q", strings.Join(c.args, " "), code, p.stderr.String())
		}
		help := strings.Join(strings.Fields(p.stdout.String()), " ") // kong wraps lines
		for _, w := range c.want {
			if !strings.Contains(help, w) {
				t.Errorf("npte %s: help lacks %q:\n%s", strings.Join(c.args, " "), w, p.stdout.String())
			}
		}
		if len(p.calls) != 0 || p.tree() != before {
			t.Errorf("npte %s changed something: %v", strings.Join(c.args, " "), p.calls)
		}
	}
}

func TestVersion(t *testing.T) {
	p := newNsInproc(t)
	if code := p.run("--version"); code != 0 || p.stdout.String() != "npte test\n" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, p.stdout.String(), p.stderr.String())
	}
}

// TestBadNames checks the list of bad names on every netns verb
// that takes one, live and dry-run: exit 2, one line naming the value and
// the rule, nothing on stdout, no program run, no file changed.
func TestBadNames(t *testing.T) {
	names := []string{"Bad", "1x", "a;b", "../x", "-h", "abcdefghijklm", "", "a b", "a\nb", "é", "a\x00b", "$(id)"}
	for _, verb := range [][]string{{"netns", "create"}, {"netns", "destroy"}, {"netns", "create", "--dry-run"}, {"netns", "destroy", "-n"}} {
		for _, name := range names {
			args := append(append([]string(nil), verb...), "--", name)
			t.Run(fmt.Sprintf("%s/%q", strings.Join(verb, " "), name), func(t *testing.T) {
				p := newNsInproc(t)
				p.touch(p.layout().Marker("demo"))
				before := p.tree()
				code := p.run(args...)
				if code != 2 {
					t.Fatalf("exit %d, want 2; stderr %q", code, p.stderr.String())
				}
				e := p.stderr.String()
				quoted := fmt.Sprintf("%q", name)
				if strings.Count(e, "\n") != 1 || !strings.HasPrefix(e, "npte: invalid namespace name "+quoted+": ") {
					t.Errorf("stderr %q, want one line naming %s and the rule", e, quoted)
				}
				if p.stdout.Len() != 0 || len(p.calls) != 0 || p.tree() != before {
					t.Errorf("something happened: stdout %q, calls %v", p.stdout.String(), p.calls)
				}
			})
		}
	}
}

// TestBadNamesWithoutDashDash: a bad name given the ordinary way.
func TestBadNamesWithoutDashDash(t *testing.T) {
	for _, name := range []string{"Bad", "1x", "a;b", "../x", "abcdefghijklm", ""} {
		p := newNsInproc(t)
		before := p.tree()
		if code := p.run("netns", "create", name); code != 2 || strings.Count(p.stderr.String(), "\n") != 1 || len(p.calls) != 0 || p.tree() != before {
			t.Errorf("netns create %q: exit %d, stderr %q, calls %v", name, code, p.stderr.String(), p.calls)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netns", "create"}, "<name>"},
		{[]string{"netns", "create", "-x", "demo"}, "-x"},
		{[]string{"netns", "create", "a", "b"}, "unexpected argument b"},
		{[]string{"netns", "frobnicate"}, "frobnicate"},
		{[]string{"netns", "create", "--dns", "1.1.1.1%eth0", "demo"}, `invalid IP address "1.1.1.1%eth0"`},
		{[]string{"netns", "create", "--dns", "dns.example", "demo"}, `invalid IP address "dns.example"`},
		{[]string{"netns", "create", "--dns", "::ffff:1.1.1.1", "demo"}, "IPv4-mapped"},
		{[]string{"netns", "create", "--dns", "1.1.1.1;id", "demo"}, `"1.1.1.1;id"`},
	} {
		p := newNsInproc(t)
		before := p.tree()
		code := p.run(c.args...)
		if code != 2 || !strings.HasPrefix(p.stderr.String(), "npte: ") || !strings.Contains(p.stderr.String(), c.want) {
			t.Errorf("npte %q: exit %d, stderr %q; want 2 and %q", c.args, code, p.stderr.String(), c.want)
		}
		if len(p.calls) != 0 || p.tree() != before || p.stdout.Len() != 0 {
			t.Errorf("npte %q changed something: %v", c.args, p.calls)
		}
	}
}

func TestLiveNeedsRoot(t *testing.T) {
	for _, args := range [][]string{{"netns", "create", "demo"}, {"netns", "destroy", "demo"}} {
		p := newNsInproc(t)
		p.env.Euid = 1000
		before := p.tree()
		code := p.run(args...)
		if code != 2 || !strings.Contains(p.stderr.String(), "needs root") || !strings.Contains(p.stderr.String(), "--dry-run") || strings.Count(p.stderr.String(), "\n") != 1 {
			t.Errorf("npte %v as a user: exit %d, stderr %q", args, code, p.stderr.String())
		}
		if len(p.calls) != 0 || p.tree() != before {
			t.Errorf("npte %v as a user changed something", args)
		}
		// --dry-run needs no root and touches nothing.
		if code := p.run(append(args, "--dry-run")...); code != 0 || !strings.HasPrefix(p.stdout.String(), "#!/bin/sh\n") {
			t.Errorf("npte %v --dry-run as a user: exit %d, %q", args, code, p.stderr.String())
		}
		if len(p.calls) != 0 || p.tree() != before {
			t.Errorf("npte %v --dry-run changed something", args)
		}
	}
}

func TestCreateListDestroy(t *testing.T) {
	p := newNsInproc(t)
	l := p.layout()
	if code := p.run("netns", "list"); code != 0 || p.stdout.Len() != 0 || p.stderr.Len() != 0 {
		t.Errorf("empty list: exit %d, stdout %q, stderr %q", code, p.stdout.String(), p.stderr.String())
	}
	if code := p.run("netns", "list", "--json"); code != 0 || p.stdout.String() != "[]\n" {
		t.Errorf("empty list --json: exit %d, stdout %q", code, p.stdout.String())
	}
	for _, n := range []string{"zeta", "alpha", "m1"} {
		if code := p.run("netns", "create", n); code != 0 {
			t.Fatalf("create %s: exit %d: %s", n, code, p.stderr.String())
		}
		// The fake ip does not make /run/netns/NAME; pretend it did.
		p.touch(l.Netns(n))
	}
	p.touch(l.Netns("foreign")) // a namespace made by plain ip netns add
	if code := p.run("netns", "list"); code != 0 || p.stdout.String() != "alpha\nm1\nzeta\n" {
		t.Errorf("list: exit %d, stdout %q", code, p.stdout.String())
	}
	if code := p.run("netns", "list", "--json"); code != 0 {
		t.Errorf("list --json: exit %d", code)
	} else {
		var names []string
		if err := json.Unmarshal(p.stdout.Bytes(), &names); err != nil || strings.Join(names, ",") != "alpha,m1,zeta" {
			t.Errorf("list --json: %q, %v", p.stdout.String(), err)
		}
	}
	// A user can list without the lock.
	p.env.Euid = 1000
	if code := p.run("netns", "list"); code != 0 || p.stdout.String() != "alpha\nm1\nzeta\n" {
		t.Errorf("list as a user: exit %d, stdout %q", code, p.stdout.String())
	}
	p.env.Euid = 0

	// create twice: exit 2, nothing changed.
	before, calls := p.tree(), len(p.calls)
	if code := p.run("netns", "create", "alpha"); code != 2 || !strings.Contains(p.stderr.String(), "alpha: already exists") {
		t.Errorf("second create: exit %d, stderr %q", code, p.stderr.String())
	}
	if p.tree() != before || len(p.calls) != calls {
		t.Errorf("second create changed something: %v", p.calls[calls:])
	}
	// A foreign namespace: create and destroy both refuse it.
	for _, verb := range []string{"create", "destroy"} {
		before, calls = p.tree(), len(p.calls)
		if code := p.run("netns", verb, "foreign"); code != 2 || strings.Count(p.stderr.String(), "\n") != 1 {
			t.Errorf("%s foreign: exit %d, stderr %q", verb, code, p.stderr.String())
		}
		if p.tree() != before || len(p.calls) != calls {
			t.Errorf("%s foreign changed something", verb)
		}
	}
	if code := p.run("netns", "destroy", "alpha"); code != 0 {
		t.Fatalf("destroy alpha: exit %d: %s", code, p.stderr.String())
	}
	if got := strings.Join(p.calls[len(p.calls)-3:], "\n"); got != "rm -rf -- /etc/netns/alpha\nip -n alpha link delete group 28272\nip netns del alpha" {
		t.Errorf("destroy ran %q", got)
	}
	if code := p.run("netns", "list"); code != 0 || p.stdout.String() != "m1\nzeta\n" {
		t.Errorf("list after destroy: %q", p.stdout.String())
	}
}

func TestDestroySymlinkedMarker(t *testing.T) {
	p := newNsInproc(t)
	l := p.layout()
	unlock, err := registry.New(l, os.Getuid()).Lock(context.Background()) // the state dirs and lock
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	p.touch(l.Netns("evil"))
	target := filepath.Join(p.root, "target")
	p.touch(target)
	if err := os.Symlink(target, l.Marker("evil")); err != nil {
		t.Fatal(err)
	}
	before := p.tree()
	if code := p.run("netns", "destroy", "evil"); code != 2 || !strings.Contains(p.stderr.String(), "symbolic link") || strings.Count(p.stderr.String(), "\n") != 1 {
		t.Errorf("destroy with a symlinked marker: exit %d, stderr %q", code, p.stderr.String())
	}
	if len(p.calls) != 0 || p.tree() != before {
		t.Errorf("destroy with a symlinked marker changed something: %v", p.calls)
	}
	if code := p.run("netns", "list"); code != 0 || p.stdout.Len() != 0 {
		t.Errorf("a symlinked marker is listed: %q", p.stdout.String())
	}
}

func TestStepFailureExit1(t *testing.T) {
	p := newNsInproc(t)
	p.fail = "ip -n demo link set dev lo up"
	code := p.run("netns", "create", "demo")
	e := p.stderr.String()
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, e)
	}
	for _, want := range []string{
		"npte: step 7/12 failed: ip -n demo link set dev lo up: exit status 1\n",
		"npte: already done: ",
		"ip netns add demo",
		"npte: to clean up, run: npte netns destroy demo\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	// The clean-up command works on the half-made namespace (the intent
	// record marks it as npte's).
	p.fail = ""
	p.touch(p.layout().Netns("demo"))
	if code := p.run("netns", "destroy", "demo"); code != 0 {
		t.Fatalf("clean-up: exit %d: %s", code, p.stderr.String())
	}
	if code := p.run("netns", "list"); code != 0 || p.stdout.Len() != 0 {
		t.Errorf("after clean-up: %q", p.stdout.String())
	}
	if e, _ := os.ReadDir(p.layout().IntentDir()); len(e) != 0 {
		t.Errorf("intent records left: %v", e)
	}
}

func TestDryRunIsPure(t *testing.T) {
	p := newNsInproc(t)
	before := p.tree()
	for _, args := range [][]string{
		{"netns", "create", "--dry-run", "demo"},
		{"netns", "create", "-n", "demo"},
		{"netns", "destroy", "--dry-run", "demo"},
	} {
		if code := p.run(args...); code != 0 || !strings.HasPrefix(p.stdout.String(), "#!/bin/sh\n") || p.stderr.Len() != 0 {
			t.Errorf("npte %v: exit %d, stderr %q", args, code, p.stderr.String())
		}
	}
	if len(p.calls) != 0 || p.tree() != before {
		t.Errorf("a dry run changed something: %v", p.calls)
	}
}

// TestDefaultEnvNoColor: NO_COLOR (any value) turns colour off, and so
// does a stderr that is not a terminal (as under go test).
func TestDefaultEnvNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if cli.DefaultEnv("x").Color {
		t.Error("colour with NO_COLOR set")
	}
	t.Setenv("NO_COLOR", "")
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 && cli.DefaultEnv("x").Color {
		t.Error("colour on a stderr that is not a terminal")
	}
	if env := cli.DefaultEnv("x"); env.Layout != shell.DefaultLayout() || env.Owner != 0 {
		t.Errorf("DefaultEnv layout %+v owner %d", env.Layout, env.Owner)
	}
}
