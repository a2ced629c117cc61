// Package fidelity checks, without root, that a rendered script and the
// live executor do the same thing for the same npte command line.
//
// Live runs cli.Main in live mode against a private state layout with a
// recording Starter: no program runs, every argv (and stdin payload) is
// recorded. Script renders the same command with --dry-run, parses it with
// mvdan.cc/sh/v3/syntax and runs it in mvdan.cc/sh/v3/interp with an exec
// handler that records argv the same way. World decides, identically for
// both, the exit status of each recorded program, so guards (probes) take
// the same branch. The lock's own commands (install -d, flock) and the
// marker/intent removals (rm -f -- under the state root) are applied to the
// private state instead of being recorded; the resulting state directories
// are compared too.
package fidelity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shell"
)

// Event is one program run: its argv, what it read on stdin, and whether
// it held npte's lock (live: exec.Cmd.Lock; script: run between `flock 9`
// and `exec 9>&-`, so with fd 9 open).
type Event struct {
	Argv   []string
	Stdin  string
	Locked bool
	// Lane is the 1-based lane of plan.Lanes the program ran in (live:
	// exec.Lane of its context; script: the background subshell followed
	// by `npte_laneN=$!`), 0 outside lanes. The lanes run at the same
	// time: each side's events are put in lane order (ByLane) before they
	// are compared.
	Lane int
}

// String renders an event for diffs.
func (e Event) String() string {
	s := shell.CommandLine(e.Argv)
	if e.Lane > 0 {
		s = "[lane " + strconv.Itoa(e.Lane) + "] " + s
	}
	if e.Stdin != "" {
		s += " <<< " + fmt.Sprintf("%q", e.Stdin)
	}
	return s
}

// World decides the exit status of a program run (0 means success).
type World func(argv []string) int

// AllSucceed is a World where every program succeeds.
func AllSucceed([]string) int { return 0 }

// Result is what one side did.
type Result struct {
	Events []Event
	Exit   int
	State  string // markers and intent records after the run
	Stdout string
	Stderr string
	// Dir is the temporary directory that holds the side's private state
	// layout; Check reads paths below it as equal on both sides.
	Dir string
}

// Setup prepares a private state root: layout, fake program directory and
// pre-existing managed namespaces (markers) and kernel namespaces.
type Setup struct {
	Managed []string // names with a marker (and a kernel namespace)
	Foreign []string // kernel namespaces without a marker
	Intents []string // names with only an intent record
	// SudoUser is $SUDO_USER (netns run); LookupUser resolves it, as uid
	// 1000 and gid 1000, and nobody else.
	SudoUser string
	// InsideUID and InsideGroups are what `ip netns exec NS id -u -- USER`
	// and `... id -G -- USER` print on both sides (netns run's check of
	// the user inside the namespace); empty means "1000".
	InsideUID, InsideGroups string
	// Output, when not nil, gives what any other recorded program prints
	// on its standard output (both sides print it): steps that read a
	// program's output (RequireNoRoute, IfOutput) take the same branch.
	Output func(argv []string) string
	// Busy are namespaces that a process is in (plan.CutBusyLinks): the
	// private proc directory (shell.Layout.Proc) gets a process whose
	// ns/net leads to each one's /run/netns/NAME, besides one in a
	// namespace of its own. Name them in Managed (or Foreign) too.
	Busy []string
	// Gateways are gateway records (NS.BACKEND) that exist before the run.
	Gateways []string
	// Plant, when not nil, changes the private state layout (made as the
	// fields above say, below a t.TempDir) before the run: a symbolic
	// link or a file where a guard expects something else.
	Plant func(l shell.Layout) error
}

// output is what a recorded program prints on stdout: the id commands of
// plan.RequireRunAs print InsideUID or InsideGroups, others what Output
// says.
func (s Setup) output(argv []string) string {
	if len(argv) != 8 || argv[0] != "ip" || argv[1] != "netns" || argv[2] != "exec" || argv[4] != "id" || argv[6] != "--" {
		if s.Output != nil {
			return s.Output(argv)
		}
		return ""
	}
	out := ""
	switch argv[5] {
	case "-u":
		out = s.InsideUID
	case "-G":
		out = s.InsideGroups
	}
	if out == "" {
		out = "1000"
	}
	return out + "\n"
}

// StateRoot makes a private state layout (mode 0755 directories, owned
// by the test's user) and a directory of stand-in programs, one per
// allowlisted tool, under t.TempDir; managed names get a marker. Tests
// that run cli.Main live without root point cli.Env's Layout, Owner
// (os.Getuid()) and Dirs at them.
func StateRoot(t *testing.T, managed ...string) (layout shell.Layout, bin string) {
	t.Helper()
	root := t.TempDir()
	layout = shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns"), Proc: filepath.Join(root, "proc")}
	bin = filepath.Join(root, "bin")
	for _, d := range []string{layout.Root, layout.NetnsDir(), layout.IntentDir(), layout.RunNetns, bin, layout.Proc + "/1/ns"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(d, 0o755)
	}
	for _, tool := range exec.Tools() {
		if err := os.WriteFile(filepath.Join(bin, tool.Name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range managed {
		if err := os.WriteFile(layout.Marker(n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Process 1 is in a namespace of its own (a file of its own).
	if err := os.WriteFile(filepath.Join(root, "hostns"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "hostns"), layout.Proc+"/1/ns/net"); err != nil {
		t.Fatal(err)
	}
	return layout, bin
}

func (s Setup) env(t *testing.T, args []string) (cli.Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	layout, bin := StateRoot(t)
	touch := func(p string) {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range s.Managed {
		touch(layout.Marker(n))
		touch(layout.Netns(n))
	}
	for _, n := range s.Foreign {
		touch(layout.Netns(n))
	}
	for _, n := range s.Intents {
		touch(layout.Intent(n))
	}
	for i, n := range s.Busy {
		dir := fmt.Sprintf("%s/%d/ns", layout.Proc, 100+i)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(layout.Netns(n), dir+"/net"); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range s.Gateways {
		if err := os.MkdirAll(layout.GatewayDir(), 0o755); err != nil {
			t.Fatal(err)
		}
		touch(layout.GatewayDir() + "/" + g)
	}
	if s.Plant != nil {
		if err := s.Plant(layout); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	sudoUser := s.SudoUser
	env := cli.Env{
		Args:    args,
		Stdin:   strings.NewReader(""),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Getenv:  func(k string) string { return map[string]string{"SUDO_USER": sudoUser, "TERM": "xterm"}[k] },
		Euid:    0,
		Version: "test",
		Layout:  layout,
		Owner:   os.Getuid(),
		Dirs:    []string{bin},
		LookupUser: func(name string) (*user.User, error) {
			if name == sudoUser && name != "" {
				return &user.User{Username: name, Uid: "1000", Gid: "1000", HomeDir: "/home/" + name}, nil
			}
			return nil, user.UnknownUserError(name)
		},
		UserGroups: func(u *user.User) ([]string, error) { return []string{u.Gid}, nil },
		Getwd:      func() (string, error) { return "/home/work", nil },
	}
	return env, &stdout, &stderr
}

func snapshot(l shell.Layout) string {
	var out []string
	for _, d := range []string{l.NetnsDir(), l.IntentDir(), l.GatewayDir()} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			out = append(out, filepath.Base(d)+"/"+e.Name())
		}
	}
	// Lab records (plan.WriteLabRecord): each file with its content's size.
	labs, _ := os.ReadDir(l.Root + "/lab")
	for _, lab := range labs {
		files, _ := os.ReadDir(l.Root + "/lab/" + lab.Name())
		out = append(out, "lab/"+lab.Name())
		for _, f := range files {
			b, _ := os.ReadFile(l.Root + "/lab/" + lab.Name() + "/" + f.Name())
			out = append(out, fmt.Sprintf("lab/%s/%s:%d", lab.Name(), f.Name(), len(b)))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// Live runs npte ARGS (without --dry-run) live with recorded programs.
func Live(t *testing.T, s Setup, w World, args ...string) Result {
	t.Helper()
	env, stdout, stderr := s.env(t, args)
	var events []Event
	var mu sync.Mutex // the lanes of plan.Lanes record at the same time
	record := func(ctx context.Context, c exec.Cmd) error {
		ev := Event{Argv: append([]string(nil), c.Argv...), Locked: c.Lock != nil, Lane: exec.Lane(ctx)}
		if c.Stdin != nil {
			b, _ := io.ReadAll(c.Stdin)
			ev.Stdin = string(b)
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		if isCover(c.Argv) {
			return runCover(t, c.Argv, ev.Stdin, c.Stdout)
		}
		if c.Stdout != nil && c.Stdout != io.Discard {
			_, _ = io.WriteString(c.Stdout, s.output(c.Argv))
		}
		if code := w(c.Argv); code != 0 {
			return &fakeExit{code}
		}
		return nil
	}
	env.Start = record
	env.Exec = func(c exec.Cmd) error { return record(context.Background(), c) }
	code := cli.Main(env)
	return Result{Events: ByLane(events), Exit: code, State: snapshot(env.Layout), Stdout: stdout.String(), Stderr: stderr.String(), Dir: filepath.Dir(env.Layout.Root)}
}

// fakeExit is a recorded program's non-zero exit.
type fakeExit struct{ code int }

// Error renders the exit like os/exec does.
func (e *fakeExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode makes fakeExit a program exit for the executor.
func (e *fakeExit) ExitCode() int { return e.code }

// Script renders npte ARGS --dry-run, checks that it parses, and runs it in
// interp with recorded programs.
func Script(t *testing.T, s Setup, w World, args ...string) (Result, string) {
	t.Helper()
	// --dry-run goes right after the verb path (the first two words), so
	// that it can never land inside a passthrough command such as
	// netns run's, where it would be a word of the user's command.
	at := 2
	if at > len(args) {
		at = len(args)
	}
	if i := indexOf(args, "--"); i >= 0 && i < at {
		at = i
	}
	dryArgs := append(append(append([]string(nil), args[:at]...), "--dry-run"), args[at:]...)
	env, stdout, stderr := s.env(t, dryArgs)
	env.Exec = func(c exec.Cmd) error {
		t.Fatalf("npte %s ran live (handoff to %v) instead of rendering", strings.Join(dryArgs, " "), c.Argv)
		return nil
	}
	env.Start = func(_ context.Context, c exec.Cmd) error {
		t.Fatalf("npte %s ran live (%v) instead of rendering", strings.Join(dryArgs, " "), c.Argv)
		return nil
	}
	if code := cli.Main(env); code != 0 {
		return Result{Exit: code, Stdout: stdout.String(), Stderr: stderr.String()}, ""
	}
	script := stdout.String()
	if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "dry-run.sh"); err != nil {
		t.Fatalf("rendered script is not POSIX sh: %v\n%s", err, script)
	}
	// interp runs the bash-variant tree: its POSIX variant leaves export
	// unparsed as a declaration. The script was checked as POSIX above.
	file, err := syntax.NewParser().Parse(strings.NewReader(script), "dry-run.sh")
	if err != nil {
		t.Fatalf("rendered script does not parse: %v\n%s", err, script)
	}
	// interp cannot redirect fd 9, which only carries the lock; the lock is
	// checked for real by the sandboxed dash tests. Drop those redirections;
	// the statement that closes fd 9 becomes a call of unlockMark, so that
	// the exec handler knows which programs ran with fd 9 open.
	unlock, err := syntax.NewParser().Parse(strings.NewReader(unlockMark), "")
	if err != nil {
		t.Fatal(err)
	}
	syntax.Walk(file, func(n syntax.Node) bool {
		if st, ok := n.(*syntax.Stmt); ok {
			kept := st.Redirs[:0]
			closes := false
			for _, r := range st.Redirs {
				if r.N == nil || r.N.Value != strconv.Itoa(shell.LockFD) {
					kept = append(kept, r)
				} else if r.Op == syntax.DplOut && r.Word.Lit() == "-" {
					closes = true
				}
			}
			st.Redirs = kept
			if closes {
				st.Cmd = unlock.Stmts[0].Cmd
			}
		}
		return true
	})
	markLanes(t, file, script)
	return runScript(t, file, env.Layout, w, s.output), script
}

// ErrOutside is returned by the interpreter's open handler for a write
// outside the test's temporary state directory.
var ErrOutside = errors.New("fidelity: refusing to write outside the test's state directory")

// openHandler opens files for the interpreter: reads anywhere, writes
// (any of O_WRONLY, O_RDWR, O_CREATE, O_TRUNC, O_APPEND) only to /dev/null
// or below dir, whose symbolic links are not followed. A quoting bug that
// made a rendered script write "> /etc/passwd" fails here instead of
// truncating the machine's file.
func openHandler(dir string) interp.OpenHandlerFunc {
	open := interp.DefaultOpenHandler()
	return func(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
		const writing = os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_TRUNC | os.O_APPEND
		if flag&writing == 0 || path == "/dev/null" {
			return open(ctx, path, flag, perm)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(interp.HandlerCtx(ctx).Dir, path)
		}
		path = filepath.Clean(path)
		parent, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil || !within(parent, dir) || !within(path, dir) {
			return nil, fmt.Errorf("%w: %s", ErrOutside, path)
		}
		return open(ctx, filepath.Join(parent, filepath.Base(path)), flag|syscall.O_NOFOLLOW, perm)
	}
}

// allUnder reports whether every path starts with prefix.
func allUnder(paths []string, prefix string) bool {
	for _, p := range paths {
		if !strings.HasPrefix(p, prefix) {
			return false
		}
	}
	return true
}

// within reports whether path is dir or below it (both clean, absolute).
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// RunScript runs a parsed script in mvdan's interpreter against the
// private layout l (made by StateRoot, under a t.TempDir): no program ever
// runs (every command is recorded, and w decides its status), and no file
// outside l's temporary directory is written. The lock's own commands
// (install -d, flock, find, umask) and marker removals are applied to the
// private state instead of being recorded; `id -u` prints this process's
// uid, the owner of the private state.
func RunScript(t *testing.T, file *syntax.File, l shell.Layout, w World) Result {
	t.Helper()
	return runScript(t, file, l, w, func([]string) string { return "" })
}

// runScript is RunScript with output saying what each recorded program
// prints on stdout. The one real program it runs is find with read-only
// primaries only (readOnlyFind), on /etc/netns (the /etc/netns guards'
// view of the directory) or on another absolute path outside the state
// root (plan.RequireRootfs's view of a container tree and the directories
// above it), both of which the live side reads with Lstat.
func runScript(t *testing.T, file *syntax.File, l shell.Layout, w World, output func([]string) string) Result {
	t.Helper()
	stateDir, err := filepath.EvalSymlinks(filepath.Dir(l.Root))
	if err != nil {
		t.Fatal(err)
	}
	if tmp, err := filepath.EvalSymlinks(os.TempDir()); err != nil || !within(stateDir, tmp) {
		t.Fatalf("fidelity: the state root %s is not a temporary directory", l.Root)
	}
	locked := false
	var events []Event
	// The lanes of plan.Lanes (background subshells) run at the same time.
	var mu sync.Mutex
	handler := func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		// next (the real exec handler) runs only a read-only find on
		// /etc/netns; every other program is recorded, never run.
		return func(ctx context.Context, argv []string) error {
			hc := interp.HandlerCtx(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case len(argv) == 2 && argv[0] == "id" && argv[1] == "-u":
				fmt.Fprintln(hc.Stdout, os.Getuid())
				return nil
			case len(argv) >= 5 && argv[0] == "install" && argv[1] == "-d" && within(argv[4], stateDir):
				// The lock's own install -d of the state directories
				// (another install -d, of /etc/netns/NAME directories
				// in a batched plan, is recorded like any program).
				for _, p := range argv[4:] {
					if within(p, stateDir) {
						_ = os.MkdirAll(p, 0o755)
					}
				}
				return nil
			case len(argv) >= 2 && argv[0] == "flock":
				locked = true
				return nil
			case len(argv) == 1 && argv[0] == unlockMark:
				locked = false
				return nil
			case len(argv) > 2 && argv[0] == "find" && strings.HasPrefix(argv[1], l.Root):
				// The lock's owner and mode guard: print what find would.
				for _, p := range argv[1:] {
					if p == "-prune" {
						break
					}
					if badState(p) {
						fmt.Fprintln(hc.Stdout, p)
					}
				}
				return nil
			case len(argv) >= 4 && argv[0] == "rm" && argv[1] == "-f" && argv[2] == "--" && allUnder(argv[3:], l.Root+"/"):
				for _, p := range argv[3:] {
					_ = os.Remove(p)
				}
				return nil
			case len(argv) == 4 && argv[0] == "rm" && argv[1] == "-rf" && argv[2] == "--" && strings.HasPrefix(argv[3], l.Root+"/lab/"):
				// A lab's record (plan.RemoveLabRecord).
				_ = os.RemoveAll(argv[3])
				return nil
			case len(argv) > 2 && argv[0] == "find" && (argv[1] == plan.EtcNetns || strings.HasPrefix(argv[1], plan.EtcNetns+"/")) && readOnlyFind(argv):
				// The /etc/netns guards: the real find reads the same
				// /etc/netns as the live side's Lstat does (read-only).
				return next(ctx, argv)
			case len(argv) > 2 && argv[0] == "find" && strings.HasPrefix(argv[1], "/") && readOnlyFind(argv) && !strings.HasPrefix(argv[1], l.Root):
				// plan.RequireRootfs: the real find reads the tree and
				// the directories above it, as the live side's Lstat does.
				return next(ctx, argv)
			case len(argv) > 4 && argv[0] == "stat" && argv[1] == "-L" && argv[2] == "-c" && argv[3] == "%i %n" && argv[4] == "--" && allUnder(argv[5:], stateDir+"/"):
				// plan.CutBusyLinks: the real stat reads the private
				// proc and /run/netns, as the live side's Stat does.
				return next(ctx, argv)
			}
			ev := Event{Argv: append([]string(nil), argv...), Locked: locked}
			if v := hc.Env.Get(laneVar); v.IsSet() {
				ev.Lane, _ = strconv.Atoi(v.String())
			}
			if hc.Stdin != nil {
				b, _ := io.ReadAll(hc.Stdin)
				ev.Stdin = string(b)
			}
			events = append(events, ev)
			if isCover(argv) {
				return runCover(t, argv, ev.Stdin, hc.Stdout)
			}
			_, _ = io.WriteString(hc.Stdout, output(argv))
			if code := w(argv); code != 0 {
				return interp.ExitStatus(uint8(code))
			}
			return nil
		}
	}
	var out, errb bytes.Buffer
	var outMu sync.Mutex
	runner, err := interp.New(
		// The lanes of plan.Lanes share stdout and stderr (the
		// handler writes them holding mu: their own lock).
		interp.StdIO(strings.NewReader(""), exec.SyncWriter(&out, &outMu), exec.SyncWriter(&errb, &outMu)),
		interp.Env(expand.ListEnviron("PATH="+shell.SafePath)),
		interp.ExecHandlers(handler),
		interp.OpenHandler(openHandler(stateDir)),
		// interp lacks umask and set -C. The umask only affects modes, and
		// noclobber only makes the marker creation exclusive (O_EXCL),
		// which the sandboxed dash tests exercise for real.
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			if len(args) > 0 && args[0] == "umask" || len(args) == 2 && args[0] == "set" && args[1] == "-C" {
				return []string{"true"}, nil
			}
			return args, nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = runner.Run(context.Background(), file)
	code := 0
	var es interp.ExitStatus
	switch {
	case err == nil:
	case errors.As(err, &es):
		code = int(es)
	case errors.Is(err, ErrOutside):
		// The interpreter stops the script at the refused redirection.
		code = 1
		fmt.Fprintf(&errb, "%v\n", err)
	default:
		t.Fatalf("interp: %v", err)
	}
	return Result{Events: ByLane(events), Exit: code, State: snapshot(l), Stdout: out.String(), Stderr: errb.String(), Dir: filepath.Dir(l.Root)}
}

// badState reports what the lock's find guard selects: an existing path
// not owned by this process's uid, a directory writable by group or
// others, or a regular file whose mode is not 0600.
func badState(p string) bool {
	fi, err := os.Lstat(p)
	if err != nil {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return true
	}
	switch {
	case fi.IsDir():
		return fi.Mode().Perm()&0o022 != 0
	case fi.Mode().IsRegular():
		return fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0o600
	}
	return false
}

// DryRun runs npte ARGS (which include --dry-run) in the default layout, as
// a user would, with Setup's user and no file system access; it returns
// stdout, stderr and the exit code. Golden files come from here.
func DryRun(t *testing.T, s Setup, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	env, out, errb := s.env(t, args)
	env.Layout = shell.DefaultLayout()
	env.Owner = 0
	code = cli.Main(env)
	return out.String(), errb.String(), code
}

// readOnlyFind reports whether a find command line uses only primaries
// that read: no -exec, -ok, -delete, -fprint or the like can reach the
// real find through the fidelity harness.
func readOnlyFind(argv []string) bool {
	for i := 1; i < len(argv); i++ {
		switch a := argv[i]; a {
		case "-user", "-perm", "-name", "-type":
			i++ // the primary's operand
		case "-prune", "-o", "-print", "!", "(", ")":
		default:
			if strings.HasPrefix(a, "-") {
				return false
			}
		}
	}
	return true
}

func indexOf(args []string, s string) int {
	for i, a := range args {
		if a == s {
			return i
		}
	}
	return -1
}

// Check runs npte ARGS both ways and fails t on any difference in the
// programs run (argv and stdin, in order), the exit code class, the
// resulting markers and intent records, or the npte: lines on stderr
// (Diagnostics). It returns the live result.
func Check(t *testing.T, s Setup, w World, args ...string) Result {
	t.Helper()
	live := Live(t, s, w, args...)
	sh, script := Script(t, s, w, args...)
	if script == "" {
		t.Fatalf("npte %s --dry-run failed (exit %d): %s", strings.Join(args, " "), sh.Exit, sh.Stderr)
	}
	if a, b := fmtEvents(live.Events), fmtEvents(sh.Events); a != b {
		t.Errorf("npte %s: live and script run different programs\n--- live\n%s--- script\n%s--- script text\n%s", strings.Join(args, " "), a, b, script)
	}
	if (live.Exit == 0) != (sh.Exit == 0) || (live.Exit == 2) != (sh.Exit == 2) {
		t.Errorf("npte %s: live exit %d, script exit %d\nlive stderr: %s\nscript stderr: %s", strings.Join(args, " "), live.Exit, sh.Exit, live.Stderr, sh.Stderr)
	}
	if a, b := fmtLocked(live.Events), fmtLocked(sh.Events); a != b {
		t.Errorf("npte %s: live and script differ in which programs hold the lock\n--- live\n%s--- script\n%s", strings.Join(args, " "), a, b)
	}
	if live.State != sh.State {
		t.Errorf("npte %s: state differs: live %q, script %q", strings.Join(args, " "), live.State, sh.State)
	}
	if a, b := Diagnostics(live.Stderr, script, live.Dir), Diagnostics(sh.Stderr, "", sh.Dir); a != b {
		t.Errorf("npte %s: live and script print different npte: lines on stderr\n--- live\n%s--- script\n%s--- live stderr\n%s", strings.Join(args, " "), a, b, live.Stderr)
	}
	return live
}

// Diagnostics returns the lines of stderr that begin with "npte: " and
// that a script prints too: the guards' refusals and IfOwned's "skipped".
// Given the script text (for a live run's stderr), it leaves out what only
// a live run prints: its notes (comments in the script), and the report
// of a failed or interrupted step (a script stops with the program's own
// error output). The state directory dir (Result.Dir) is written $STATE.
func Diagnostics(stderr, script, dir string) string {
	if dir != "" {
		stderr = strings.ReplaceAll(stderr, dir, "$STATE")
	}
	notes := map[string]bool{}
	for _, l := range strings.Split(script, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimLeft(l, "\t"), "# "); ok {
			notes[c] = true
		}
	}
	var b strings.Builder
	for _, l := range strings.Split(stderr, "\n") {
		m, ok := strings.CutPrefix(l, "npte: ")
		if !ok || script != "" && (notes[m] || liveOnly(m)) {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// liveOnly reports whether m (an npte: line without its prefix) is part
// of exec.StepError's report, which only a live run prints.
func liveOnly(m string) bool {
	for _, p := range []string{"already done: ", "to clean up, run: ", "nothing was changed", "interrupted (", "skipped: "} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	n, rest, ok := strings.Cut(m, " ")
	return ok && n == "step" && strings.Contains(rest, " failed: ")
}

// unlockMark stands for the script's `exec 9>&-` in the interpreted
// script (see Script).
const unlockMark = "npte-fidelity-unlock"

// fmtLocked lists the events, each marked with whether it held the lock.
func fmtLocked(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Locked {
			b.WriteString("locked   ")
		} else {
			b.WriteString("unlocked ")
		}
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func fmtEvents(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// isCover reports whether argv is plan.CutBusyLinks's awk (CoverArgv).
func isCover(argv []string) bool {
	return len(argv) == 4 && argv[0] == "awk" && argv[1] == "-v" && strings.HasPrefix(argv[2], "names=") && argv[3] == plan.CoverAwk
}

// runCover runs the real awk of plan.CutBusyLinks (a fixed program that
// reads its standard input and prints: it writes no file) on both sides,
// so that the namespaces it chooses, and the deletions that follow, are
// compared.
func runCover(t *testing.T, argv []string, stdin string, stdout io.Writer) error {
	t.Helper()
	c := osexec.Command("/usr/bin/awk", argv[1:]...)
	c.Env = []string{"PATH=" + shell.SafePath}
	c.Stdin = strings.NewReader(stdin)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("fidelity: the cover awk failed: %v", err)
	}
	if stdout != nil {
		_, _ = stdout.Write(out)
	}
	return nil
}

// laneVar is the variable that markLanes sets in each lane's subshell.
const laneVar = "npte_fidelity_lane"

// markLanes makes each lane of the parsed script (a background subshell
// whose next line is `npte_laneN=$!`, as render writes plan.Lanes) set
// laneVar to N first, so that the exec handler knows the lane of what it
// records. It changes only the tree that the interpreter runs.
func markLanes(t *testing.T, file *syntax.File, script string) {
	t.Helper()
	lines := strings.Split(script, "\n")
	syntax.Walk(file, func(n syntax.Node) bool {
		st, ok := n.(*syntax.Stmt)
		if !ok || !st.Background {
			return true
		}
		sub, ok := st.Cmd.(*syntax.Subshell)
		next := int(st.End().Line()) // 0-based index of the line after it
		if !ok || next >= len(lines) {
			t.Fatalf("fidelity: a background job that is not a lane of plan.Lanes:\n%s", script)
		}
		v, ok := strings.CutPrefix(strings.TrimLeft(lines[next], "\t"), "npte_lane")
		lane, ok2 := strings.CutSuffix(v, "=$!")
		if _, err := strconv.Atoi(lane); !ok || !ok2 || err != nil {
			t.Fatalf("fidelity: a background job not followed by npte_laneN=$!: %q", lines[next])
		}
		set, err := syntax.NewParser().Parse(strings.NewReader(laneVar+"="+lane), "")
		if err != nil {
			t.Fatal(err)
		}
		sub.Stmts = append(set.Stmts, sub.Stmts...)
		return true
	})
}

// ByLane returns events with each run of consecutive events of lanes
// (Lane > 0) put in lane order, each lane's events in the order they ran:
// the order of one side's record no longer depends on how the lanes'
// programs interleaved, and two sides that ran the same lanes compare
// equal.
func ByLane(events []Event) []Event {
	out := slices.Clone(events)
	for i := 0; i < len(out); {
		if out[i].Lane == 0 {
			i++
			continue
		}
		j := i
		for j < len(out) && out[j].Lane > 0 {
			j++
		}
		slices.SortStableFunc(out[i:j], func(a, b Event) int { return a.Lane - b.Lane })
		i = j
	}
	return out
}
