// Package securitytest is npte's reliability and security suite:
// concurrency, crashes at every step boundary, signals, hostile input,
// filesystem attacks and privilege. It holds tests only.
//
// The test binary doubles as the npte command (testscript.Main registers
// it as "npte" on PATH), so the live tests run real npte processes. Only
// in this test binary, these environment variables reach cli.Env (BeforeStep, Dirs):
//
//	NPTE_TEST_KILL_AT=N          SIGKILL the process before step N
//	NPTE_TEST_PAUSE_AT=N         before step N, create NPTE_TEST_PAUSE_FILE
//	NPTE_TEST_PAUSE_FILE=PATH    and wait (at most a minute) until the test removes it
//	NPTE_TEST_DIRS=DIR           look for programs in DIR first (heldchild_test.go)
//
// Production npte (main.go) reads none of them; TestNoTestHooksInProduction
// checks that.
//
// Every test that changes kernel state runs inside internal/sandbox.
package securitytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"npte": npteMain})
}

// npteMain is the npte command of this test binary: main.go's main plus
// the crash and pause hooks.
func npteMain() {
	env := cli.DefaultEnv("test")
	env.Dirs = testDirs() // NPTE_TEST_DIRS, heldchild_test.go
	killAt, _ := strconv.Atoi(os.Getenv("NPTE_TEST_KILL_AT"))
	pauseAt, _ := strconv.Atoi(os.Getenv("NPTE_TEST_PAUSE_AT"))
	pauseFile := os.Getenv("NPTE_TEST_PAUSE_FILE")
	if killAt > 0 || pauseAt > 0 && pauseFile != "" {
		env.BeforeStep = func(i int) {
			if i == killAt {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
			if i == pauseAt && pauseFile != "" {
				_ = os.WriteFile(pauseFile, []byte(strconv.Itoa(os.Getpid())), 0o644)
				for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(5 * time.Millisecond) {
					if _, err := os.Stat(pauseFile); err != nil {
						return
					}
				}
			}
		}
	}
	os.Exit(cli.Main(env))
}

// npteBin is the absolute path of the npte command of this test binary.
func npteBin(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("npte")
	if err != nil {
		t.Fatalf("the npte test command is not on PATH: %v", err)
	}
	return p
}

// result is how one npte process ended.
type result struct {
	Args     []string
	Code     int    // exit code, or -1 when killed by a signal
	Signal   string // the signal that killed it, if any
	Stdout   string
	Stderr   string
	Duration time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("npte %q: exit %d%s\nstdout: %s\nstderr: %s", r.Args, r.Code, r.Signal, r.Stdout, r.Stderr)
}

// proc describes one process to run.
type proc struct {
	Args  []string // npte's arguments
	Env   []string // extra environment (appended to the test's)
	Stdin string
	// Script, when set, runs `npte ARGS` (which must include --dry-run)
	// and pipes its output into `sh`; Code is then the script's status.
	Script bool
	// Started, when not nil, receives the pid once the process started.
	Started chan<- int
}

// run runs p to completion (bounded by ctx) and reports how it ended.
func run(ctx context.Context, t testing.TB, p proc) result {
	t.Helper()
	bin := npteBin(t)
	var cmd *exec.Cmd
	if p.Script {
		line := bin
		for _, a := range p.Args {
			line += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		// pipefail is not POSIX: check the renderer's status by hand.
		cmd = exec.CommandContext(ctx, "sh", "-c", "s=$("+line+") || exit $?; printf '%s\\n' \"$s\" | sh")
	} else {
		cmd = exec.CommandContext(ctx, bin, p.Args...)
	}
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdin = strings.NewReader(p.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if p.Started != nil {
			p.Started <- cmd.Process.Pid
		}
		err = cmd.Wait()
	}
	r := result{Args: p.Args, Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal().String()
		}
	default:
		t.Errorf("cannot run npte %q: %v", p.Args, err)
		r.Code = -2
	}
	if ctx.Err() != nil {
		t.Errorf("npte %q did not finish in time (deadlock?): %v", p.Args, ctx.Err())
	}
	return r
}

// holdLock holds npte's lock with flock(1), as a rendered script would,
// until release is called.
func holdLock(t testing.TB) (release func()) {
	t.Helper()
	mustBeSandboxed(t)
	// flock(1) would create a missing lock with mode 0644, which npte
	// refuses: let npte's registry make the state directories and lock.
	unlock, err := registry.New(shell.DefaultLayout(), 0).Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	cmd := exec.Command("flock", "/run/npte/lock", "cat")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); lockFree(t); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("flock(1) never took the lock")
		}
	}
	done := false
	return func() {
		if !done {
			done = true
			in.Close()
			_ = cmd.Wait()
		}
	}
}

// mustRun runs npte and fails the test unless it exits with want.
func mustRun(t testing.TB, want int, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := run(ctx, t, proc{Args: args})
	if r.Code != want {
		t.Fatalf("want exit %d, got:\n%s", want, r)
	}
	return r
}

// fsSnapshot describes, byte for byte, the files under each root, without
// following any symbolic link: path, type, mode, owner, size, content,
// link target.
func fsSnapshot(roots ...string) string {
	var b strings.Builder
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", p, errors.Unwrap(err))
				return nil
			}
			fi, err := os.Lstat(p)
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", p, err)
				return nil
			}
			st := fi.Sys().(*syscall.Stat_t)
			fmt.Fprintf(&b, "%s %v %d:%d %d", p, fi.Mode(), st.Uid, st.Gid, fi.Size())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				fmt.Fprintf(&b, " -> %s", l)
			case fi.Mode().IsRegular() && !strings.HasPrefix(p, "/run/netns/"):
				data, _ := os.ReadFile(p)
				fmt.Fprintf(&b, " %q", data)
			}
			b.WriteByte('\n')
			return nil
		})
	}
	return b.String()
}

// stateRoots are the paths npte may write.
var stateRoots = []string{"/run/npte", "/run/netns", "/etc/netns"}

// lockFree reports whether npte's lock can be taken right now.
func lockFree(t testing.TB) bool {
	t.Helper()
	fd, err := syscall.Open("/run/npte/lock", syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ENOENT) {
		return true
	}
	if err != nil {
		t.Fatalf("open lock: %v", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false
	}
	_ = syscall.Flock(fd, syscall.LOCK_UN)
	return true
}

// flatten lists a plan's steps in the order exec.Runner numbers them
// (the body of IfOwned/IfNetns/IfOutput/IfGatewayRecord follows the
// conditional step).
func flatten(steps []plan.Step) []plan.Step {
	var out []plan.Step
	plan.Walk(steps, func(s plan.Step) { out = append(out, s) })
	return out
}

// stepIndex is the 1-based index of the first step whose description is
// desc, or fails the test.
func stepIndex(t testing.TB, p plan.Plan, desc string) int {
	t.Helper()
	for i, s := range flatten(p.Steps) {
		if s.Describe() == desc {
			return i + 1
		}
	}
	t.Fatalf("plan %v has no step %q", p.Argv, desc)
	return 0
}

// links lists the interfaces of a namespace ("" = the sandbox's own).
func links(t testing.TB, ns string) []string {
	t.Helper()
	args := []string{"-o", "link", "show"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		t.Fatalf("ip %v: %v", args, err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			n := strings.TrimSuffix(f[1], ":")
			n, _, _ = strings.Cut(n, "@")
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// listDir lists a directory's entry names, sorted (nil when missing).
func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// checkConsistent verifies npte's invariants over the whole sandbox: every
// name is fully present (kernel namespace, marker, /etc/netns entry) or
// fully absent, no intent record and no orphan is left, the sandbox's own
// namespace has only lo, and each if-PEER interface has its peer. It
// returns the names present.
func checkConsistent(t testing.TB) []string {
	t.Helper()
	if in := listDir("/run/npte/intent"); len(in) > 0 {
		t.Errorf("orphan intent records: %v", in)
	}
	names := map[string]bool{}
	for _, d := range []string{"/run/netns", "/run/npte/netns", "/etc/netns"} {
		for _, n := range listDir(d) {
			names[n] = true
		}
	}
	var present []string
	for n := range names {
		ns, marker, etc := exists("/run/netns/"+n), exists("/run/npte/netns/"+n), exists("/etc/netns/"+n+"/resolv.conf")
		switch {
		case ns && marker && etc:
			present = append(present, n)
		case !ns && !marker && !exists("/etc/netns/"+n):
		default:
			t.Errorf("%s is half there: namespace=%v marker=%v /etc/netns=%v", n, ns, marker, etc)
		}
	}
	sort.Strings(present)
	if l := links(t, ""); len(l) != 1 || l[0] != "lo" {
		t.Errorf("stray interfaces in the host namespace: %v", l)
	}
	// The far end of a veth pair whose namespace was destroyed goes away
	// when the kernel has torn that namespace down, asynchronously: allow
	// it a few seconds (see the report: destroy does not wait for it).
	start := time.Now()
	for {
		var orphans []string
		for _, n := range present {
			for _, l := range links(t, n) {
				peer, ok := strings.CutPrefix(l, "if-")
				if ok && !exists("/run/netns/"+peer) {
					orphans = append(orphans, n+"/"+l)
				}
			}
		}
		if len(orphans) == 0 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("interfaces whose peer namespace is gone: %v", orphans)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return present
}

func removeFile(t testing.TB, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// settledState waits until the kernel is done with its own changes after a
// setup (IPv6 duplicate address detection, carrier) and returns the state.
func settledState(t *testing.T) string {
	t.Helper()
	prev := sandbox.State(t)
	for start := time.Now(); time.Since(start) < 15*time.Second; {
		time.Sleep(300 * time.Millisecond)
		cur := sandbox.State(t)
		if cur == prev && !strings.Contains(cur, "tentative") {
			return cur
		}
		prev = cur
	}
	t.Fatalf("the kernel state did not settle:\n%s", prev)
	return ""
}

// bg is a context for one npte run, bounded so that a deadlock fails the
// test instead of hanging it.
func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustBeSandboxed stops a test before it writes anything unless it runs
// inside internal/sandbox with /run and /etc/netns on the sandbox's own
// tmpfs mounts. Every helper that removes, writes or mounts calls it.
func mustBeSandboxed(t testing.TB) {
	t.Helper()
	if !sandbox.Inside() {
		t.Fatal("refusing to change the file system outside the sandbox")
	}
	if err := sandbox.Private(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/run", "/etc/netns"} {
		var st syscall.Statfs_t
		if err := syscall.Statfs(p, &st); err != nil || st.Type != 0x01021994 {
			t.Fatalf("refusing to write: %s is not the sandbox's tmpfs", p)
		}
	}
}

// testUser is the unprivileged user privateUsers adds; toorUser is a
// second name for uid 0; gid0User has gid 0 as its primary group and
// wheelUser as a supplementary one (both with uids of their own).
const (
	testUser  = "nptetest"
	toorUser  = "toor"
	gid0User  = "nptegidzero"
	wheelUser = "nptewheel"
)

// privateUsers gives the sandbox private copies of /etc/passwd and
// /etc/group (written on the sandbox's /run tmpfs, then bind-mounted over
// the originals, which are never written) holding root, nobody, testUser
// (uid 4242), toorUser (another name for uid 0), gid0User (uid 4343,
// primary gid 0) and wheelUser (uid 4344, a member of group root).
func privateUsers(t *testing.T) {
	t.Helper()
	mustBeSandboxed(t)
	dir := "/run/private-etc"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
			testUser + ":x:4242:4242::/tmp:/bin/sh\n" + toorUser + ":x:0:0::/root:/bin/sh\n" +
			gid0User + ":x:4343:0::/tmp:/bin/sh\n" + wheelUser + ":x:4344:4344::/tmp:/bin/sh\n",
		"group": "root:x:0:" + wheelUser + "\nnogroup:x:65534:\n" + testUser + ":x:4242:\n" + wheelUser + ":x:4344:\n",
	}
	for name, content := range files {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(p, "/etc/"+name, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind %s over /etc/%s: %v", p, name, err)
		}
	}
}
