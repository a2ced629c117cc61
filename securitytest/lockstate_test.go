package securitytest

// Regression tests for issue 10 items 3 (lock denial of service), 10
// (broken state paths), 14 (read-only verbs change nothing), 15 (a script
// run without root) and 18 (scripts that are really POSIX). Everything
// runs inside sandbox.Enter.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// nobody is the unprivileged uid the tests act as (setpriv, no groups).
var asNobody = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}

// lockedBuffer is a bytes.Buffer that a child writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dryRun returns the script npte ARGS --dry-run prints.
func dryRun(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, 0, append(args, "--dry-run")...).Stdout
}

// runShell runs script on the standard input of argv (a shell), bounded by
// ctx, and reports how it ended.
func runShell(ctx context.Context, t *testing.T, argv []string, script string) result {
	t.Helper()
	mustBeSandboxed(t)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{Args: argv, Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Errorf("%v did not finish in time (a hang?): %v", argv, ctx.Err())
	}
	return r
}

// makeState makes npte's state directories and lock as npte does (the
// read-only verbs, netns list among them, no longer create them).
func makeState(t testing.TB) {
	t.Helper()
	mustBeSandboxed(t)
	unlock, err := registry.New(shell.DefaultLayout(), 0).Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

// resetState removes the sandbox's npte state and namespace directory (on
// the sandbox's own /run tmpfs).
func resetState(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	for _, p := range []string{"/run/npte", "/run/netns"} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}

// oneNpteLine fails unless stderr is exactly one line "npte: ...".
func oneNpteLine(t *testing.T, what, stderr, want string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "npte: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
		t.Errorf("%s: stderr %q, want one npte: line containing %q", what, stderr, want)
	}
}

// TestLockNotOpenableByOthers (item 3): the lock is root's, mode 0600, so
// an unprivileged user cannot open it, hence cannot flock it and block
// every npte verb. Before the fix the lock was 0644 and flock(1) as nobody
// held it, and npte waited forever.
func TestLockNotOpenableByOthers(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mustBeSandboxed(t)
	mustRun(t, 0, "netns", "create", "a")
	fi, err := os.Lstat("/run/npte/lock")
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || st.Uid != 0 {
		t.Errorf("lock: %v uid %d, want a regular file of root with mode 0600", fi.Mode(), st.Uid)
	}
	out, err := exec.Command(asNobody[0], append(asNobody[1:], "flock", "-n", "/run/npte/lock", "true")...).CombinedOutput()
	if err == nil {
		t.Fatalf("an unprivileged user took npte's lock: %s", out)
	}
	// A user who tries to hold it in the background gets nothing: npte,
	// live and scripted, goes on at once.
	holder := exec.Command(asNobody[0], append(asNobody[1:], "flock", "/run/npte/lock", "sleep", "60")...)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = holder.Process.Kill() // by pid: the process this test started
		_ = holder.Wait()
	}()
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []proc{
		{Args: []string{"netns", "list"}},
		{Args: []string{"netns", "create", "b", "--dry-run"}, Script: true},
		{Args: []string{"netns", "destroy", "a"}},
		{Args: []string{"netns", "destroy", "b", "--dry-run"}, Script: true},
	} {
		if r := run(ctx, t, p); r.Code != 0 {
			t.Fatalf("with nobody trying to hold the lock:\n%s", r)
		}
	}
	t.Logf("flock -n as uid 65534: %s", strings.TrimSpace(string(out)))
}

// TestLockWaitNamesHolder (item 3): a live npte and a script kept waiting
// for the lock say so once, naming the pid that holds it.
func TestLockWaitNamesHolder(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	release := holdLock(t)
	defer release()
	// /proc/locks lists every flock of the machine (other sandboxes'
	// tmpfs have files with the same inode number): match device too.
	var st syscall.Stat_t
	if err := syscall.Stat("/run/npte/lock", &st); err != nil {
		t.Fatal(err)
	}
	pids := registry.HoldersOf(readFile(t, "/proc/locks"), st.Dev, st.Ino)
	if len(pids) != 1 {
		t.Fatalf("holders of the lock in /proc/locks: %v, want flock(1) alone", pids)
	}
	holder := pids[0]
	// Live npte, and a script under every shell, wait together.
	type waiter struct {
		name string
		cmd  *exec.Cmd
		out  *lockedBuffer
	}
	waiters := []waiter{{name: "live", cmd: exec.Command(npteBin(t), "netns", "create", "l"), out: &lockedBuffer{}}}
	for i, sh := range sandbox.Shells() {
		if _, err := exec.LookPath(sh[0]); err != nil {
			continue
		}
		c := exec.Command(sh[0], sh[1:]...)
		c.Stdin = strings.NewReader(dryRun(t, "netns", "create", "s"+strconv.Itoa(i)))
		waiters = append(waiters, waiter{name: strings.Join(sh, " "), cmd: c, out: &lockedBuffer{}})
	}
	for _, w := range waiters {
		w.cmd.Stderr = w.out
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	want := "held by pid " + strconv.Itoa(holder)
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		all := true
		for _, w := range waiters {
			all = all && strings.Contains(w.out.String(), want)
		}
		if all {
			break
		}
		if time.Since(start) > 60*time.Second {
			release()
			for _, w := range waiters {
				t.Errorf("%s: %q", w.name, w.out.String())
			}
			t.Fatalf("not every waiter named pid %d", holder)
		}
	}
	release()
	for _, w := range waiters {
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("%s: %v\n%s", w.name, err, w.out.String())
		}
		s := w.out.String()
		if n := strings.Count(s, "npte: waiting for the lock"); n != 1 || strings.Count(s, "pid ") != 1 {
			t.Errorf("%s: %q, want one notice naming only the holder", w.name, s)
		}
		t.Logf("%s: %s", w.name, firstLine(s))
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestBrokenStatePaths (item 10): for each broken state path, live npte
// and its script (dash) exit 2 with one npte: line, hang on nothing, and
// leave nothing to clean.
func TestBrokenStatePaths(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dirs := func() {
		for _, d := range []string{"/run/npte", "/run/npte/netns", "/run/npte/intent"} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		setup func()
		want  string
	}{
		{"state root is a file", func() { write("/run/npte", 0o644) }, "not a directory"},
		{"marker dir is a file", func() {
			if err := os.Mkdir("/run/npte", 0o755); err != nil {
				t.Fatal(err)
			}
			write("/run/npte/netns", 0o644)
		}, "not a directory"},
		{"lock is a directory", func() {
			dirs()
			if err := os.Mkdir("/run/npte/lock", 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"lock is a FIFO", func() {
			dirs()
			if err := syscall.Mkfifo("/run/npte/lock", 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"lock of an older npte (0644)", func() { dirs(); write("/run/npte/lock", 0o644) }, "0600"},
		{"/run/netns is a file", func() { write("/run/netns", 0o644) }, "/run/netns is not a directory"},
	} {
		for _, script := range []bool{false, true} {
			mode := map[bool]string{false: "live", true: "script"}[script]
			resetState(t)
			c.setup()
			before := fsSnapshot("/run/npte", "/run/netns", "/etc/netns")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var r result
			if script {
				r = runShell(ctx, t, []string{"dash", "-s"}, dryRun(t, "netns", "create", "demo"))
			} else {
				r = run(ctx, t, proc{Args: []string{"netns", "create", "demo"}})
			}
			cancel()
			if r.Code != 2 {
				t.Errorf("%s, %s: exit %d, want 2\n%s", c.name, mode, r.Code, r)
			}
			oneNpteLine(t, c.name+", "+mode, r.Stderr, c.want)
			after := fsSnapshot("/run/npte", "/run/netns", "/etc/netns")
			if c.name == "/run/netns is a file" {
				// The lock was taken (state directories made): only what
				// a create leaves must be absent.
				if listDir("/run/npte/intent") != nil || listDir("/run/npte/netns") != nil || exists("/etc/netns/demo") {
					t.Errorf("%s, %s: left something to clean:\n%s", c.name, mode, after)
				}
				if r := run(bg(t), t, proc{Args: []string{"netns", "destroy", "demo"}}); r.Code != 2 || !strings.Contains(r.Stderr, "not managed") {
					t.Errorf("%s, %s: destroy afterwards: %s", c.name, mode, r)
				}
			} else if after != before {
				t.Errorf("%s, %s: changed the state paths:\n--- before\n%s--- after\n%s", c.name, mode, before, after)
			}
			t.Logf("%s, %s: exit %d: %s", c.name, mode, r.Code, strings.TrimSpace(r.Stderr))
		}
	}
	resetState(t)
}

// TestReadOnlyVerbsCreateNothing (item 14): netns list, netns show, netem
// show, doctor and completion's namespace listing create neither /run/npte
// nor its lock, and change nothing under an existing /run/npte.
func TestReadOnlyVerbsCreateNothing(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	resetState(t)
	verbs := [][]string{
		{"netns", "list"},
		{"netns", "list", "--json"},
		{"netns", "show", "ghost"},
		{"netem", "show", "ghost"},
		{"doctor"},
		{"completion", "bash", "--complete", "npte netns destroy "},
	}
	for _, args := range verbs {
		r := run(bg(t), t, proc{Args: args})
		if exists("/run/npte") {
			t.Fatalf("npte %q (exit %d) created /run/npte", args, r.Code)
		}
	}
	mustRun(t, 0, "netns", "create", "a")
	if err := os.Remove("/run/npte/lock"); err != nil { // as if made by hand, without a lock yet
		t.Fatal(err)
	}
	before := fsSnapshot("/run/npte")
	for _, args := range append(verbs, []string{"netns", "show", "a"}, []string{"netem", "show", "a"}) {
		r := run(bg(t), t, proc{Args: args})
		if after := fsSnapshot("/run/npte"); after != before {
			t.Fatalf("npte %q (exit %d) changed /run/npte:\n--- before\n%s--- after\n%s", args, r.Code, before, after)
		}
	}
	mustRun(t, 0, "netns", "destroy", "a")
}

// TestScriptRefusesNonRoot (item 15): a dry-run script run without root
// fails first, with one line saying to run it as root, exit 2; the owner
// guard names root.
func TestScriptRefusesNonRoot(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	resetState(t)
	script := dryRun(t, "netns", "create", "a")
	r := runShell(bg(t), t, append(append([]string(nil), asNobody...), "dash", "-s"), script)
	if r.Code != 2 {
		t.Errorf("script as uid 65534: exit %d, want 2\n%s", r.Code, r)
	}
	oneNpteLine(t, "script as uid 65534", r.Stderr, "run it as root")
	if exists("/run/npte") || exists("/run/netns/a") {
		t.Error("the script changed something before refusing")
	}
	// A state directory owned by someone else: the guard names root.
	if err := os.Mkdir("/run/npte", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown("/run/npte", 4242, 4242); err != nil {
		t.Fatal(err)
	}
	r = runShell(bg(t), t, []string{"dash", "-s"}, script)
	if r.Code != 2 {
		t.Errorf("foreign /run/npte: exit %d, want 2\n%s", r.Code, r)
	}
	oneNpteLine(t, "foreign /run/npte", r.Stderr, "not owned by root")
	resetState(t)
}

// linkLocal and carrier are the parts of sandbox.State that differ
// between two identical setups of a veth pair: the kernel derives the IPv6
// link-local address from a random MAC, and a peer's carrier and operstate
// follow its bringing up asynchronously (linkwatch).
var (
	linkLocal = regexp.MustCompile(`fe80::[0-9a-f:]+`)
	carrier   = regexp.MustCompile(`"NO-CARRIER",|,"LOWER_UP"|"operstate":"[A-Z]+",`)
)

// shellState is the settled sandbox.State (after duplicate address
// detection, carrier and IPv6 autoconfiguration of a new veth pair) without
// those parts.
func shellState(t *testing.T) string {
	t.Helper()
	return carrier.ReplaceAllString(linkLocal.ReplaceAllString(settledState(t), "fe80::X"), "")
}

// TestShellsMatchLive (item 18): the scripts of several verbs, run under
// every POSIX shell of sandbox.Shells (dash, bash --posix, busybox sh,
// yash, posh, mksh), leave after each step the kernel state a live run
// leaves (sandbox.State).
func TestShellsMatchLive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	resetState(t)
	steps := [][]string{
		{"netns", "create", "a"},
		{"netns", "create", "--dns", "", "b"},
		{"netns", "connect", "a", "b"},
		{"netns", "assign-addr", "a", "if-b", "10.77.0.1/24"},
		{"netns", "assign-addr", "b", "if-a", "10.77.0.2/24"},
		{"netem", "apply", "a", "if-b", "--rate", "10mbit"}, // tbf: kernels without sch_netem have it
		{"netem", "clear", "a", "if-b"},
		{"netns", "destroy", "b"},
		{"netns", "destroy", "a"},
	}
	var live []string
	for _, s := range steps {
		mustRun(t, 0, s...)
		live = append(live, shellState(t))
	}
	for _, sh := range sandbox.Shells() {
		if _, err := exec.LookPath(sh[0]); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (.ci/run installs it)", sh[0])
			}
			t.Logf("%s is not installed: skipped", sh[0])
			continue
		}
		for i, s := range steps {
			r := runShell(bg(t), t, sh, dryRun(t, s...))
			if r.Code != 0 {
				t.Fatalf("%v, npte %v: exit %d\n%s", sh, s, r.Code, r.Stderr)
			}
			if got := shellState(t); got != live[i] {
				t.Fatalf("%v, npte %v: the script left another state than the live run:\n--- live\n%s--- script\n%s", sh, s, live[i], got)
			}
		}
		t.Logf("%v: %d verbs, same state as live after each", sh, len(steps))
	}
	// A namespace made by one shell's script is destroyed by another's.
	shells := sandbox.Shells()
	for i, mk := range shells {
		rm := shells[(i+1)%len(shells)]
		if _, err := exec.LookPath(mk[0]); err != nil {
			continue
		}
		if _, err := exec.LookPath(rm[0]); err != nil {
			continue
		}
		if r := runShell(bg(t), t, mk, dryRun(t, "netns", "create", "x")); r.Code != 0 {
			t.Fatalf("%v create: %s", mk, r)
		}
		if r := runShell(bg(t), t, rm, dryRun(t, "netns", "destroy", "x")); r.Code != 0 {
			t.Fatalf("%v destroy of %v's namespace: %s", rm, mk, r)
		}
	}
	if got := checkConsistent(t); len(got) != 0 {
		t.Errorf("left: %v", got)
	}
}
