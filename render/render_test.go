package render_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/render"
	"github.com/npte/npte/shell"
)

func needDash(t *testing.T) string {
	t.Helper()
	d, err := exec.LookPath("dash")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dash is not installed (.ci/run installs it)")
		}
		t.Skip("dash is not installed")
	}
	return d
}

// TestScriptNUL: a NUL in an argv or a heredoc is an error, not a script.
func TestScriptNUL(t *testing.T) {
	p := plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"ip", "a\x00"}}}}
	if _, err := render.Script(p, render.Options{}); !errors.Is(err, shell.ErrNUL) {
		t.Errorf("Script with a NUL in an argv: %v, want ErrNUL", err)
	}
	p = plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"cat"}, Stdin: "a\x00b\n"}}}
	if _, err := render.Script(p, render.Options{}); !errors.Is(err, shell.ErrNUL) {
		t.Errorf("Script with a NUL in a heredoc: %v, want ErrNUL", err)
	}
}

func TestComment(t *testing.T) {
	for _, in := range []string{"plain", "a\nb", "a\rb", "a\x00b", "\xff", "x\u2028y", "$(id) `id` #"} {
		c := render.Comment(in)
		if !strings.HasPrefix(c, "# ") || strings.ContainsAny(c, "\n\r\x00\u2028") || !utf8Valid(c) {
			t.Errorf("Comment(%q) = %q, not one clean comment line", in, c)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// TestTerminator checks that a heredoc payload cannot end the heredoc
// early, whatever lines it holds, and that the script's stdin is the payload.
func TestTerminator(t *testing.T) {
	payloads := terminatorPayloads
	for _, payload := range payloads {
		p := plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"cat"}, Stdin: payload}}}
		script, err := render.Script(p, render.Options{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		want := payload
		if !strings.HasSuffix(want, "\n") {
			want += "\n" // a heredoc always ends with a newline
		}
		// mvdan's parser and interpreter (which refuse invalid UTF-8;
		// dash below takes those bytes as they are).
		if utf8.ValidString(script) {
			if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), ""); err != nil {
				t.Fatalf("payload %q: %v\n%s", payload, err, script)
			}
			if got := interpStdin(t, script); got != want {
				t.Errorf("payload %q: interp fed %q", payload, got)
			}
		}
	}
}

// terminatorPayloads are heredoc payloads that collide with the
// terminator or carry awkward bytes.
var terminatorPayloads = []string{
	"nameserver 1.1.1.1\n",
	"NPTE_EOF\n",
	"NPTE_EOF",
	"a\nNPTE_EOF\nNPTE_EOF_1\nb\n",
	"NPTE_EOF_1\nNPTE_EOF\n",
	"xNPTE_EOF\nNPTE_EOFx\n NPTE_EOF_1\nNPTE_EOF_1\nNPTE_EOF",
	" NPTE_EOF\nNPTE_EOF \n\tNPTE_EOF\n",
	"$(id) `id` $HOME ${x} \\ ' \" # \\\n",
	"no trailing newline",
	"é \xff\x01\t\r\n",
	"\n\n",
}

// TestTerminatorDash feeds the heredoc payloads through a real POSIX shell,
// inside the sandbox (a rendered script runs only there).
func TestTerminatorDash(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := needDash(t)
	for _, payload := range terminatorPayloads {
		p := plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"cat"}, Stdin: payload}}}
		script, err := render.Script(p, render.Options{Version: "test", Owner: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		want := payload
		if !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		out, err := exec.Command(dash, "-c", script).Output()
		if err != nil || string(out) != want {
			t.Errorf("payload %q: dash printed %q (%v)", payload, out, err)
		}
	}
}

// noWrites is an interp open handler that refuses every write but to
// /dev/null: a quoting bug that turned a word into "> FILE" fails instead
// of writing FILE.
func noWrites(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if path != "/dev/null" && flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, fmt.Errorf("refusing to write %s", path)
	}
	return interp.DefaultOpenHandler()(ctx, path, flag, perm)
}

// interpStdin runs script in mvdan's interpreter and returns what its one
// external command read on stdin.
func interpStdin(t *testing.T, script string) string {
	t.Helper()
	// interp runs the bash-variant tree: its POSIX variant leaves export
	// unparsed as a declaration.
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatal(err)
	}
	var stdin string
	var ierr bytes.Buffer
	r, _ := interp.New(interp.StdIO(nil, io.Discard, &ierr),
		// No program runs, and nothing is written.
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return func(ctx context.Context, argv []string) error {
				hc := interp.HandlerCtx(ctx)
				if argv[0] == "id" {
					fmt.Fprintln(hc.Stdout, "0") // the header's root check
					return nil
				}
				if hc.Stdin != nil {
					b, _ := io.ReadAll(hc.Stdin)
					stdin = string(b)
				}
				return nil
			}
		}),
		interp.OpenHandler(noWrites),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			if args[0] == "umask" {
				return []string{"true"}, nil
			}
			return args, nil
		}))
	if err := r.Run(context.Background(), f); err != nil {
		t.Fatalf("interp: %v\n%s", err, ierr.String())
	}
	return stdin
}

// layout returns a state layout under a fresh directory whose path holds
// a space and a quote, so that every path must be quoted.
func layout(t *testing.T) shell.Layout {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state dir's")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l := shell.Layout{Root: filepath.Join(dir, "npte"), RunNetns: filepath.Join(dir, "netns")}
	if err := os.Mkdir(l.RunNetns, 0o755); err != nil {
		t.Fatal(err)
	}
	return l
}

// allSteps is a plan that uses every step type.
func allSteps() plan.Plan {
	return plan.Plan{
		Argv: []string{"test", "it's", "a\nb"},
		Steps: []plan.Step{
			plan.Lock{},
			plan.RequireAbsent{Name: "alpha"},
			plan.RequireNoSymlink{Paths: []string{"/nonexistent/npte-test"}},
			plan.WriteIntent{Name: "alpha"},
			plan.Probe{Argv: []string{"true"}, WantSuccess: true, Message: "true must succeed"},
			plan.Probe{Argv: []string{"false"}, WantSuccess: false, Message: "false must fail"},
			plan.Command{Argv: []string{"true", "#", "it's"}},
			plan.Command{Argv: []string{"false"}, Tolerant: true},
			plan.Command{Argv: []string{"cat"}, Stdin: "payload\n"},
			plan.Command{Argv: []string{"false"}, Stdin: "NPTE_EOF\n", Tolerant: true},
			plan.WriteMarker{Name: "alpha"},
			plan.RemoveIntent{Name: "alpha"},
			plan.RequireManaged{Name: "alpha"},
			plan.RequireOwned{Name: "alpha"},
			plan.Note{Text: "a note\nover two lines $(id)"},
			plan.IfOwned{Name: "alpha", Then: []plan.Step{plan.Command{Argv: []string{"echo", "owned"}}}},
			plan.IfOwned{Name: "beta", Then: []plan.Step{plan.Command{Argv: []string{"echo", "beta owned"}}}},
			plan.IfNetns{Name: "alpha", Then: []plan.Step{plan.Command{Argv: []string{"echo", "netns"}}}},
			plan.RemoveMarker{Name: "alpha"},
			plan.Unlock{},
			plan.Command{Argv: []string{"echo", "handoff"}, Handoff: true},
		},
	}
}

func TestScriptHeader(t *testing.T) {
	s, err := render.Script(allSteps(), render.Options{Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	want := "#!/bin/sh\n# Generated by npte v1.2.3: npte test \"it's\" $'a\\nb'\n"
	if !strings.HasPrefix(s, want) {
		t.Errorf("header:\n%s\nwant prefix:\n%s", s[:200], want)
	}
	for _, l := range []string{"set -eu", "PATH=" + shell.SafePath, "export PATH", `if test "$(id -u)" != 0; then`,
		"umask 077", "{", "\tumask 022", "\texec 9>&-", "} 9>>/run/npte/lock"} {
		if !strings.Contains(s, "\n"+l+"\n") {
			t.Errorf("script lacks the line %q", l)
		}
	}
	// Only POSIX: no test -O/-G (posh refuses them), and no descriptor
	// opened by exec for the lock (close-on-exec in ksh shells).
	for _, bad := range []string{"test -O", "test -G", "exec 9>>"} {
		if strings.Contains(s, bad) {
			t.Errorf("script contains %q", bad)
		}
	}
	// The owner named in the guards is the one the options give.
	s, _ = render.Script(allSteps(), render.Options{Owner: 4242})
	for _, want := range []string{`if test "$(id -u)" != 4242; then`, "run it as uid 4242", "! -user 4242", "not owned by uid 4242"} {
		if !strings.Contains(s, want) {
			t.Errorf("script with Owner 4242 lacks %q", want)
		}
	}
}

func TestScriptDeterministic(t *testing.T) {
	a, err := render.Script(allSteps(), render.Options{Version: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, _ := render.Script(allSteps(), render.Options{Version: "x"})
		if a != b {
			t.Fatal("two renderings of the same plan differ")
		}
	}
}

func TestScriptUnknownStep(t *testing.T) {
	type bogus struct{ plan.Note }
	if _, err := render.Script(plan.Plan{Steps: []plan.Step{bogus{}}}, render.Options{}); err == nil {
		t.Error("an unknown step type rendered without error")
	}
}

// TestScriptDash runs a script with every step type in dash, against a
// private layout whose paths need quoting: it must parse, create and remove
// the marker, take the branches and end in the handoff.
func TestScriptDash(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := needDash(t)
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock (util-linux) is not installed")
	}
	l := layout(t)
	if err := os.WriteFile(l.Netns("alpha"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := allSteps()
	p.Steps[1] = plan.RequireAbsent{Name: "gamma"}
	s, err := render.Script(p, render.Options{Layout: l, Version: "test", Owner: os.Getuid()})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dash, "-s")
	cmd.Stdin = strings.NewReader(s)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dash: %v\nstderr: %s\nscript:\n%s", err, stderr.String(), s)
	}
	if want := "payload\nowned\nnetns\nhandoff\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if want := "npte: beta: not managed by npte, skipped\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	for _, d := range []string{l.NetnsDir(), l.IntentDir()} {
		if e, err := os.ReadDir(d); err != nil || len(e) != 0 {
			t.Errorf("%s: %v %v, want an empty directory", d, e, err)
		}
	}
	fi, err := os.Stat(l.Root)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v %v, want mode 0755", l.Root, fi, err)
	}
}

// TestScriptGuardsDash checks each guard's refusal in dash: exit 2, one
// "npte: " line, and nothing after the guard runs.
func TestScriptGuardsDash(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := needDash(t)
	for _, c := range []struct {
		name  string
		setup func(l shell.Layout)
		guard plan.Step
		msg   string
	}{
		{"absent/marker", func(l shell.Layout) { touch(t, l.Marker("alpha")) }, plan.RequireAbsent{Name: "alpha"}, "alpha: already exists"},
		{"absent/intent", func(l shell.Layout) { touch(t, l.Intent("alpha")) }, plan.RequireAbsent{Name: "alpha"}, "alpha: already exists"},
		{"absent/netns", func(l shell.Layout) { touch(t, l.Netns("alpha")) }, plan.RequireAbsent{Name: "alpha"}, "alpha: already exists"},
		{"absent/dangling", func(l shell.Layout) { symlink(t, "/nonexistent", l.Marker("alpha")) }, plan.RequireAbsent{Name: "alpha"}, "alpha: already exists"},
		{"managed/missing", nil, plan.RequireManaged{Name: "alpha"}, "alpha: not managed by npte"},
		{"managed/symlink", func(l shell.Layout) {
			touch(t, l.Root+"/target")
			symlink(t, l.Root+"/target", l.Marker("alpha"))
		}, plan.RequireManaged{Name: "alpha"}, "alpha: not managed by npte"},
		{"managed/dir", func(l shell.Layout) { mkdir(t, l.Marker("alpha")) }, plan.RequireManaged{Name: "alpha"}, "alpha: not managed by npte"},
		{"owned/missing", nil, plan.RequireOwned{Name: "alpha"}, "alpha: not managed by npte"},
		{"owned/symlink-intent", func(l shell.Layout) {
			touch(t, l.Root+"/target")
			symlink(t, l.Root+"/target", l.Intent("alpha"))
		}, plan.RequireOwned{Name: "alpha"}, "is not a regular file"},
		{"nosymlink", func(l shell.Layout) { symlink(t, "/", l.Root+"/link") }, nil, "symbolic link"},
		{"probe/success", nil, plan.Probe{Argv: []string{"false"}, WantSuccess: true, Message: "false failed"}, "false failed"},
		{"probe/failure", nil, plan.Probe{Argv: []string{"true"}, Message: "true succeeded"}, "true succeeded"},
		{"lock/symlink-root", func(l shell.Layout) {
			if err := os.Remove(l.IntentDir()); err != nil {
				t.Fatal(err)
			}
			symlink(t, t.TempDir(), l.IntentDir())
		}, plan.Lock{}, "symbolic link"},
		// Broken state paths (issue 10 item 10): refused before anything
		// is created or opened; a FIFO lock must not hang the script.
		{"lock/root-file", func(l shell.Layout) { rmAll(t, l.Root); touch(t, l.Root) }, plan.Lock{}, "not a directory"},
		{"lock/netns-file", func(l shell.Layout) { rmAll(t, l.NetnsDir()); touch(t, l.NetnsDir()) }, plan.Lock{}, "not a directory"},
		{"lock/lock-dir", func(l shell.Layout) { mkdir(t, l.LockPath()) }, plan.Lock{}, "not a regular file"},
		{"lock/lock-fifo", func(l shell.Layout) {
			if err := syscall.Mkfifo(l.LockPath(), 0o600); err != nil {
				t.Fatal(err)
			}
		}, plan.Lock{}, "not a regular file"},
		// Owners and modes (items 3 and 18): the lock must be 0600 and the
		// owner's; a directory must be the owner's.
		{"lock/lock-0644", func(l shell.Layout) { touch(t, l.LockPath()) }, plan.Lock{}, "mode other than 0600"},
		{"lock/lock-foreign", func(l shell.Layout) {
			touch(t, l.LockPath())
			chmodOwn(t, l.LockPath(), 0o600, 4242)
		}, plan.Lock{}, "not owned by"},
		{"lock/dir-foreign", func(l shell.Layout) { chmodOwn(t, l.IntentDir(), 0o755, 4242) }, plan.Lock{}, "not owned by"},
		{"lock/dir-writable", func(l shell.Layout) { chmodOwn(t, l.NetnsDir(), 0o775, os.Getuid()) }, plan.Lock{}, "writable by group"},
		{"absent/runnetns-file", func(l shell.Layout) { rmAll(t, l.RunNetns); touch(t, l.RunNetns) }, plan.RequireAbsent{Name: "alpha"}, "is not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := layout(t)
			for _, d := range []string{l.Root, l.NetnsDir(), l.IntentDir()} {
				mkdir(t, d)
			}
			if c.setup != nil {
				c.setup(l)
			}
			guard := c.guard
			if guard == nil {
				guard = plan.RequireNoSymlink{Paths: []string{l.Root + "/link"}}
			}
			p := plan.Plan{Steps: []plan.Step{guard, plan.Command{Argv: []string{"echo", "ran"}}}}
			s, err := render.Script(p, render.Options{Layout: l, Owner: os.Getuid()})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(dash, "-c", s)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want 2\nstderr: %s\n%s", err, stderr.String(), s)
			}
			if stdout.Len() != 0 {
				t.Errorf("the step after the guard ran: %q", stdout.String())
			}
			if e := stderr.String(); !strings.HasPrefix(e, "npte: ") || !strings.Contains(e, c.msg) || strings.Count(e, "\n") != 1 {
				t.Errorf("stderr %q, want one npte: line containing %q", e, c.msg)
			}
		})
	}
}

// TestScriptLockSerializes checks that a rendered script waits for the
// lock that live npte (registry.Lock) holds on the same file.
func TestScriptLockSerializes(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := needDash(t)
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock (util-linux) is not installed")
	}
	l := layout(t)
	reg := registry.New(l, os.Getuid())
	unlock, err := reg.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	p := plan.Plan{Steps: []plan.Step{plan.Lock{}, plan.WriteMarker{Name: "alpha"}}}
	s, err := render.Script(p, render.Options{Layout: l, Owner: os.Getuid()})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dash, "-c", s)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the script finished (%v) while live npte held the lock\n%s", err, stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := os.Lstat(l.Marker("alpha")); err == nil {
		t.Fatal("the script wrote the marker while live npte held the lock")
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("script: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the script did not take the lock after it was released")
	}
	if fi, err := os.Lstat(l.Marker("alpha")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("marker after the script: %v %v", fi, err)
	}
}

// TestScriptMarkerExclusive checks that a script's marker write, like
// live mode's O_EXCL, fails on an existing marker or a dangling symlink.
func TestScriptMarkerExclusive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dash := needDash(t)
	for _, name := range []string{"file", "dangling"} {
		l := layout(t)
		mkdir(t, l.Root)
		mkdir(t, l.NetnsDir())
		target := filepath.Join(t.TempDir(), "target")
		if name == "file" {
			touch(t, l.Marker("alpha"))
		} else {
			symlink(t, target, l.Marker("alpha"))
		}
		s, err := render.Script(plan.Plan{Steps: []plan.Step{plan.WriteMarker{Name: "alpha"}, plan.Command{Argv: []string{"echo", "ran"}}}}, render.Options{Layout: l, Owner: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(dash, "-c", s).Output()
		if err == nil || len(out) != 0 {
			t.Errorf("%s: script wrote over an existing marker: %v %q", name, err, out)
		}
		if _, err := os.Lstat(target); err == nil {
			t.Errorf("%s: script followed a dangling symlink", name)
		}
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rmAll(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

func chmodOwn(t *testing.T, p string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(p, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// TestShellcheck runs shellcheck on a script with every step type.
func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (.ci/run installs it)")
		}
		t.Skip("shellcheck is not installed")
	}
	s, err := render.Script(allSteps(), render.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sc, "-s", "sh", "-S", "style", "-")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s\n%s", err, out, s)
	}
}

// TestBatchTerminator: a batch's heredoc, written straight into the
// script, feeds exactly Stdin() to its program, and a batch whose line
// could be the terminator gets another one.
func TestBatchTerminator(t *testing.T) {
	for _, lines := range [][][]string{
		{{"link", "set", "dev", "x", "up"}, {"netns", "exec", "a", "sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 131072 6291456"}},
		{{"NPTE_EOF"}, {"link", "set", "dev", "x", "up"}},
		{{"NPTE_EOF_1"}, {"NPTE_EOF"}},
		{{"NPTE_EOF", "x"}},
	} {
		b := plan.Batch{Argv: []string{"cat"}}
		for _, l := range lines {
			b.Lines = append(b.Lines, plan.BatchLine{Args: l, Steps: []plan.Step{plan.Command{Argv: append([]string{"ip"}, l...)}}})
		}
		script, err := render.Script(plan.Plan{Steps: []plan.Step{b}}, render.Options{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), ""); err != nil {
			t.Fatalf("lines %q: %v\n%s", lines, err, script)
		}
		if got := interpStdin(t, script); got != b.Stdin() {
			t.Errorf("lines %q: interp fed %q, want %q\n%s", lines, got, b.Stdin(), script)
		}
	}
}

// TestLanesRefuseWhatCannotFail: a lane holds batches and plain commands
// only; a tolerated command or a handoff in a lane is a bug of the pass,
// refused by render as by the live executor.
func TestLanesRefuseWhatCannotFail(t *testing.T) {
	for _, bad := range []plan.Step{
		plan.Command{Argv: []string{"modprobe", "-q", "x"}, Tolerant: true},
		plan.Command{Argv: []string{"ip", "netns", "exec", "a", "sh"}, Handoff: true},
		plan.WriteMarker{Name: "a"},
	} {
		p := plan.Plan{Steps: []plan.Step{plan.Lanes{Lanes: [][]plan.Step{{bad}, {plan.Command{Argv: []string{"ip", "-n", "b", "link", "set", "dev", "lo", "up"}}}}}}}
		if _, err := render.Script(p, render.Options{Version: "test"}); err == nil {
			t.Errorf("%T %v in a lane was rendered", bad, bad)
		}
	}
}
