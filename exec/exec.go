// Package exec runs a plan.Plan live, step by step.
//
// Programs are resolved from the allowlist (Tools) in the fixed directories
// of shell.SafePath, never through the caller's PATH, and run with a
// scrubbed environment holding only that PATH. Each command is echoed to
// stderr as "+ <quoted argv>" before it runs, exactly as the rendered
// script would run it. The first failure stops the plan with a *StepError
// naming the step, what was already done, and the command that cleans up.
// SIGINT and SIGTERM let the current step finish and start no other.
//
// Every program run while the plan holds npte's lock inherits the locked
// file as fd 9, as the rendered script's children inherit its fd 9: the
// lock is free only once npte and that child are both gone, so a child
// that outlives a SIGKILLed npte still keeps every other npte (a destroy)
// waiting until it has finished its change.
package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// Cmd is one resolved program invocation.
type Cmd struct {
	Path   string   // absolute path of the program
	Argv   []string // argv, argv[0] is the allowlisted name
	Env    []string // the whole environment
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Lock, when not nil, is npte's locked lock file: the child inherits
	// it as fd 9 (shell.LockFD), as the rendered script's children inherit the
	// script's `exec 9>>LOCK`, so the lock stays held until the child has
	// exited even when npte itself is killed (SIGKILL, the OOM killer) half
	// way through the step.
	Lock *os.File
}

// Starter runs a Cmd to completion and returns its error; a non-zero exit
// is an error with an ExitCode() int method, like *os/exec.ExitError.
type Starter func(ctx context.Context, c Cmd) error

// Handoff replaces the current process with c (execve). It returns only on
// failure.
type Handoff func(c Cmd) error

// Runner executes plans.
type Runner struct {
	Registry *registry.Registry
	Stdout   io.Writer // children's stdout
	Stderr   io.Writer // children's stderr, "+ argv" echo and notes
	Color    bool      // colour the echo (a terminal, and NO_COLOR unset)
	// Dirs are searched in order for allowlisted programs; nil means the
	// directories of shell.SafePath.
	Dirs []string
	// Start runs a command; nil means Start (os/exec, in its own process
	// group, holding the lock as fd 9 when the plan holds it).
	Start Starter
	// Exec hands off to a command; nil means syscall.Exec.
	Exec Handoff
	// Signals, when not nil, replaces SIGINT/SIGTERM delivery (tests).
	Signals chan os.Signal
	// BeforeStep, when not nil, is called with the 1-based index of each
	// step before it runs. Crash tests use it to kill the process at every
	// step boundary; production npte leaves it nil.
	BeforeStep func(index int)

	resolved map[string]string
}

// Exit codes of npte.
const (
	ExitFailure = 1 // a step failed
	ExitUsage   = 2 // bad input, or a guard refused
)

// StepError is a failed (or interrupted) live run.
type StepError struct {
	Index, Total int       // 1-based index of the failing step, and the plan's length
	Step         plan.Step // the failing step (nil when interrupted between steps)
	Err          error
	Done         []string // descriptions of the state-changing steps that completed
	Undo         []string // npte argv (without "npte") that cleans up, or nil
	Code         int      // exit code: 1, 2 (guard), 130 (SIGINT), 143 (SIGTERM)
}

// Error renders the failure as one or more lines without a trailing newline.
func (e *StepError) Error() string {
	var b strings.Builder
	switch {
	case e.Code == 130 || e.Code == 143:
		fmt.Fprintf(&b, "interrupted (%v) before step %d/%d; no further step was started", e.Err, e.Index, e.Total)
	case e.Code == ExitUsage:
		fmt.Fprintf(&b, "%v", e.Err)
	default:
		fmt.Fprintf(&b, "step %d/%d failed: %s: %v", e.Index, e.Total, describe(e.Step), e.Err)
	}
	if len(e.Done) > 0 {
		b.WriteString("\nnpte: already done: " + strings.Join(e.Done, "; "))
		if len(e.Undo) > 0 {
			b.WriteString("\nnpte: to clean up, run: " + shell.CommandLine(append([]string{"npte"}, e.Undo...)))
		}
	} else if e.Code != ExitUsage {
		b.WriteString("\nnpte: nothing was changed")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// GuardError is a guard's refusal: exit 2, nothing further runs.
type GuardError struct{ Msg string }

// Error returns the guard's message.
func (e *GuardError) Error() string { return e.Msg }

// ErrNotAllowed is wrapped by errors about programs outside the allowlist.
var ErrNotAllowed = errors.New("not in npte's allowlist")

// ErrNotFound is wrapped when an allowlisted program is not installed.
var ErrNotFound = errors.New("not installed")

// Env is the whole environment of every child.
func Env() []string { return []string{"PATH=" + shell.SafePath} }

// Resolve returns the absolute path of the allowlisted program name.
func (r *Runner) Resolve(name string) (string, error) {
	if p, ok := r.resolved[name]; ok {
		return p, nil
	}
	t, ok := Lookup(name)
	if !ok {
		return "", fmt.Errorf("%q is %w", name, ErrNotAllowed)
	}
	dirs := r.Dirs
	if dirs == nil {
		dirs = strings.Split(shell.SafePath, ":")
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			if r.resolved == nil {
				r.resolved = map[string]string{}
			}
			r.resolved[name] = p
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is %w (Debian package %s)", name, ErrNotFound, t.Package)
}

// Start is the Starter npte uses outside tests: it runs c to completion
// in a process group of its own, and kills it if ctx ends first. c.Lock,
// if any, is passed as fd shell.LockFD: the child holds the lock, whatever
// happens to npte, until it exits.
func Start(ctx context.Context, c Cmd) error {
	cmd := osexec.CommandContext(ctx, c.Path)
	cmd.Args = c.Argv
	cmd.Env = c.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	// Output that is discarded (probes) goes straight to /dev/null: given
	// io.Discard, os/exec would make a pipe and a goroutine to copy the
	// output into nothing, and wait for it.
	if c.Stdout == io.Discard {
		cmd.Stdout = nil
	}
	if c.Stderr == io.Discard {
		cmd.Stderr = nil
	}
	// A process group of its own: a Ctrl-C at the terminal reaches npte,
	// which lets the current step finish instead of killing it half-way.
	// That is also why the child must hold the lock itself: a SIGKILL of
	// npte does not reach it, and it may still be changing state.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.Lock != nil {
		// Entries 3..LockFD-1 are nil: those descriptors are closed in
		// the child.
		cmd.ExtraFiles = make([]*os.File, shell.LockFD-2)
		cmd.ExtraFiles[shell.LockFD-3] = c.Lock
	}
	// A small stdin payload (a heredoc: resolv.conf, an nft ruleset) is
	// put whole into a pipe before the child starts, rather than copied by
	// a goroutine of npte's while it runs: a child that outlives a killed
	// npte still reads all of it, as it would from the script's heredoc.
	if p, ok := c.Stdin.(interface{ Len() int }); ok && p.Len() <= stdinInPipe {
		f, err := filledPipe(c.Stdin)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	return cmd.Run()
}

// stdinInPipe is the largest stdin payload Start writes into a pipe before
// starting the child: one page, the least a Linux pipe holds.
const stdinInPipe = 4096

// filledPipe returns the read end of a pipe that already holds everything
// r had to give; its write end is closed, so the reader sees EOF after it.
func filledPipe(r io.Reader) (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(pw, r)
	if e := pw.Close(); err == nil {
		err = e
	}
	if err != nil {
		pr.Close()
		return nil, err
	}
	return pr, nil
}

func defaultExec(c Cmd) error { return syscall.Exec(c.Path, c.Argv, c.Env) }

func (r *Runner) echo(argv []string, suffix string) {
	line, err := shell.Argv(argv)
	if err != nil {
		line = shell.CommandLine(argv)
	}
	if r.Color {
		fmt.Fprintf(r.Stderr, "\x1b[34m+ %s%s\x1b[0m\n", line, suffix)
	} else {
		fmt.Fprintf(r.Stderr, "+ %s%s\n", line, suffix)
	}
}

// Run executes p. It returns nil or a *StepError.
func (r *Runner) Run(ctx context.Context, p plan.Plan) error {
	sigs := r.Signals
	if sigs == nil {
		sigs = make(chan os.Signal, 2)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
	}
	// The same umask as the script's header: markers, intent records and
	// what children create get the same modes whatever the caller's umask
	// (sudo passes the user's on).
	syscall.Umask(0o022)
	st := &state{p: p, total: plan.Count(p.Steps), sigs: sigs}
	defer st.release()
	return r.steps(ctx, st, p.Steps)
}

type state struct {
	p     plan.Plan
	total int
	index int
	done  []string
	lock  *os.File // the held lock, handed to every child; nil when not held
	sigs  chan os.Signal
}

func (st *state) release() {
	if st.lock != nil {
		st.lock.Close()
		st.lock = nil
	}
}

func (st *state) fail(s plan.Step, err error, code int) error {
	return &StepError{Index: st.index, Total: st.total, Step: s, Err: err, Done: st.done, Undo: st.p.Undo, Code: code}
}

func (r *Runner) steps(ctx context.Context, st *state, steps []plan.Step) error {
	reg := r.Registry
	for _, s := range steps {
		st.index++
		select {
		case sig := <-st.sigs:
			return st.fail(nil, errors.New(sigName(sig)), sigCode(sig))
		default:
		}
		if r.BeforeStep != nil {
			r.BeforeStep(st.index)
		}
		var err error
		changed := false
		switch s := s.(type) {
		case plan.Lock:
			var lock *os.File
			var sig os.Signal
			lock, sig, err = lockInterruptible(ctx, reg, st.sigs)
			if sig != nil {
				return st.fail(nil, errors.New(sigName(sig)), sigCode(sig))
			}
			if err == nil {
				st.lock = lock
			} else if errors.Is(err, registry.ErrUnsafe) {
				return st.fail(s, &GuardError{lockRefusal(reg)}, ExitUsage)
			}
		case plan.Unlock:
			st.release()
		case plan.RequireManaged:
			// A marker path of the wrong type is no marker, as for the
			// script's test -f.
			if err = reg.RequireManaged(s.Name); errors.Is(err, registry.ErrNotManaged) || errors.Is(err, registry.ErrUnsafe) {
				return st.fail(s, &GuardError{s.Refusal(reg.Layout)}, ExitUsage)
			} else if err != nil {
				return st.fail(s, &GuardError{err.Error()}, ExitUsage)
			}
		case plan.RequireOwned:
			var ok bool
			ok, err = reg.Owned(s.Name)
			switch {
			case errors.Is(err, registry.ErrUnsafe):
				return st.fail(s, &GuardError{plan.RecordsRefusal(reg.Layout, s.Name)}, ExitUsage)
			case err != nil:
				return st.fail(s, &GuardError{err.Error()}, ExitUsage)
			case !ok:
				return st.fail(s, &GuardError{s.Refusal(reg.Layout)}, ExitUsage)
			}
		case plan.RequireAbsent:
			var taken bool
			taken, err = reg.Taken(s.Name)
			if errors.Is(err, registry.ErrUnsafe) {
				return st.fail(s, &GuardError{s.RunNetnsRefusal(reg.Layout)}, ExitUsage)
			}
			if err == nil && taken {
				return st.fail(s, &GuardError{s.Refusal()}, ExitUsage)
			}
		case plan.RequireAllAbsent:
			if err = requireAllAbsent(reg, s); err != nil {
				return st.fail(s, err, ExitUsage)
			}
		case plan.RequireNoSymlink:
			for _, p := range s.Paths {
				if fi, e := os.Lstat(p); e == nil && fi.Mode()&fs.ModeSymlink != 0 {
					return st.fail(s, &GuardError{s.Refusal()}, ExitUsage)
				}
			}
		case plan.RequireEtcNetnsAbsent:
			if err = requireEtcNetnsAbsent(s); err != nil {
				return st.fail(s, err, ExitUsage)
			}
		case plan.RequireEtcNetnsClean:
			if err = requireEtcNetnsClean(s); err != nil {
				return st.fail(s, err, ExitUsage)
			}
		case plan.RequireRunAs:
			if err = r.requireRunAs(ctx, s, st.lock); err != nil {
				return st.fail(s, err, ExitUsage)
			}
		case plan.Probe:
			var refused bool
			if refused, err = r.probe(ctx, s, st.lock); refused {
				return st.fail(s, &GuardError{s.Message}, ExitUsage)
			}
		case plan.RequireIface:
			var refused bool
			if refused, err = r.probe(ctx, s.Probe(), st.lock); refused {
				return st.fail(s, &GuardError{s.Refusal()}, ExitUsage)
			}
		case plan.Command:
			err = r.command(ctx, s, st.lock)
			changed = err == nil
			if errors.Is(err, errIgnored) {
				err = nil // a tolerated failure changed nothing: not "done"
			}
		case plan.WriteMarker:
			err = reg.Register(s.Name)
			changed = err == nil
		case plan.RemoveMarker:
			err = reg.Unregister(s.Name)
			changed = err == nil
		case plan.WriteIntent:
			err = reg.WriteIntent(s.Name)
			changed = err == nil
		case plan.RemoveIntent:
			err = reg.RemoveIntent(s.Name)
			changed = err == nil
		case plan.IfOwned:
			var ok bool
			ok, err = reg.Owned(s.Name)
			if errors.Is(err, registry.ErrUnsafe) {
				return st.fail(s, &GuardError{plan.RecordsRefusal(reg.Layout, s.Name)}, ExitUsage)
			}
			if err == nil {
				if ok {
					if e := r.steps(ctx, st, s.Then); e != nil {
						return e
					}
				} else {
					st.index += plan.Count(s.Then)
					fmt.Fprintf(r.Stderr, "npte: %s\n", s.Skipped())
				}
			}
		case plan.IfNetns:
			var ok bool
			ok, err = reg.NetnsExists(s.Name)
			if err == nil {
				if ok {
					if e := r.steps(ctx, st, s.Then); e != nil {
						return e
					}
				} else {
					st.index += plan.Count(s.Then)
				}
			}
		case plan.RequireNoRoute, plan.IfOutput, plan.RequireNoGatewayRecord,
			plan.WriteGatewayRecord, plan.RemoveGatewayRecord, plan.IfGatewayRecord, plan.RequireSafeGatewayRecords:
			var stop error
			changed, stop, err = r.gatewayStep(ctx, st, s)
			if stop != nil {
				return stop
			}
		case plan.RequireRootfs:
			if err = requireRootfs(s); err != nil {
				return st.fail(s, err, ExitUsage)
			}
		case plan.RequireLabRecord:
			if e := r.labRecord(s); e != nil {
				return st.fail(s, e, ExitUsage)
			}
		case plan.WriteLabRecord:
			err = r.labRecordWrite(s)
			changed = err == nil
		case plan.RemoveLabRecord:
			err = r.labRecordRemove(s)
			changed = err == nil
		case plan.Batch:
			line, e := r.batch(ctx, s, st.lock)
			if e != nil {
				return st.batchFail(s, line, e)
			}
			for _, l := range s.Lines {
				for _, x := range l.Steps {
					st.done = append(st.done, describe(x))
				}
			}
		case plan.Lanes:
			if e := r.lanes(ctx, st, s); e != nil {
				return e
			}
			continue
		case plan.WriteRecords, plan.RemoveRecords:
			// One step of the plan, the single record steps in turn: a
			// failure names the record, and what came before is done.
			var single []plan.Step
			if w, ok := s.(plan.WriteRecords); ok {
				single = w.Steps()
			} else {
				single = s.(plan.RemoveRecords).Steps()
			}
			for _, x := range single {
				switch x := x.(type) {
				case plan.WriteMarker:
					err = reg.Register(x.Name)
				case plan.WriteIntent:
					err = reg.WriteIntent(x.Name)
				case plan.RemoveMarker:
					err = reg.Unregister(x.Name)
				case plan.RemoveIntent:
					err = reg.RemoveIntent(x.Name)
				}
				if err != nil {
					return st.fail(x, err, ExitFailure)
				}
				st.done = append(st.done, describe(x))
			}
		case plan.IfOnlyOwned:
			var ok bool
			ok, err = onlyOwned(reg.Layout, s.Names)
			if err == nil {
				if !ok {
					st.index += plan.Count(s.Then)
				}
				branch := s.Then
				if !ok {
					branch = s.Else
				}
				if e := r.steps(ctx, st, branch); e != nil {
					return e
				}
				if ok {
					st.index += plan.Count(s.Else)
				}
			}
		case plan.CutBusyLinks:
			err = r.cutBusyLinks(ctx, st, s)
		case plan.Note:
			fmt.Fprintf(r.Stderr, "npte: %s\n", s.Text)
		default:
			err = fmt.Errorf("unknown step %T", s)
		}
		if err != nil {
			return st.fail(s, err, ExitFailure)
		}
		if changed {
			st.done = append(st.done, describe(s))
		}
	}
	return nil
}

// probe runs plan.Probe's command, its output discarded, and reports
// whether the guard refuses; err is a failure to run it at all.
func (r *Runner) probe(ctx context.Context, s plan.Probe, lock *os.File) (refused bool, err error) {
	path, err := r.Resolve(s.Argv[0])
	if err != nil {
		return false, err
	}
	e := r.start(ctx, Cmd{Path: path, Argv: s.Argv, Env: Env(), Stdout: io.Discard, Stderr: io.Discard, Lock: lock})
	if e != nil && !isExit(e) {
		return false, e
	}
	return (e == nil) != s.WantSuccess, nil
}

// lockRefusal is the script's refusal of unsafe lock state (plan.Lock):
// the type refusal when a state directory is a symbolic link or not a
// directory or the lock is not a regular file, the owner refusal
// otherwise.
func lockRefusal(reg *registry.Registry) string {
	l := reg.Layout
	if wrongType(l.Root, true) || wrongType(l.NetnsDir(), true) || wrongType(l.IntentDir(), true) || wrongType(l.LockPath(), false) {
		return plan.Lock{}.TypeRefusal(l)
	}
	return plan.Lock{}.OwnerRefusal(l, reg.Owner)
}

// wrongType is the script's `test -L P || { test -e P && ! test -d P; }`
// (dir) or `... ! test -f P` (!dir): P is a symbolic link, or exists and
// is not a directory (not a regular file).
func wrongType(p string, dir bool) bool {
	fi, err := os.Lstat(p)
	switch {
	case err != nil:
		return false
	case fi.Mode()&fs.ModeSymlink != 0:
		return true
	case dir:
		return !fi.IsDir()
	}
	return !fi.Mode().IsRegular()
}

// lockInterruptible takes the lock like reg.LockFile, but gives up when a
// signal arrives while it waits (another npte may hold the lock for long):
// it then returns the signal, and holds no lock.
func lockInterruptible(ctx context.Context, reg *registry.Registry, sigs chan os.Signal) (*os.File, os.Signal, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan os.Signal, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case sig := <-sigs:
			got <- sig
			cancel()
		case <-stop:
		}
	}()
	lock, err := reg.LockFile(ctx)
	close(stop)
	wg.Wait()
	select {
	case sig := <-got:
		if err == nil {
			lock.Close()
		}
		return nil, sig, nil
	default:
	}
	return lock, nil, err
}

func sigCode(s os.Signal) int {
	if s == syscall.SIGTERM {
		return 143
	}
	return 130
}

func sigName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func (r *Runner) start(ctx context.Context, c Cmd) error {
	if r.Start != nil {
		return r.Start(ctx, c)
	}
	return Start(ctx, c)
}

// errIgnored is returned by command for a Tolerant step that failed (or
// whose program is missing): the plan goes on, and the step is not listed
// as done.
var errIgnored = errors.New("ignored")

func (r *Runner) command(ctx context.Context, s plan.Command, lock *os.File) error {
	path, err := r.Resolve(s.Argv[0])
	if err != nil {
		if s.Tolerant && errors.Is(err, ErrNotFound) {
			r.echo(s.Argv, " 2>/dev/null || true")
			fmt.Fprintf(r.Stderr, "npte: skipped: %v\n", err)
			return errIgnored
		}
		return err
	}
	c := Cmd{Path: path, Argv: s.Argv, Env: Env(), Stdout: r.Stdout, Stderr: r.Stderr, Lock: lock}
	if s.Handoff {
		// The lock file is close-on-exec: a handed-off program never
		// holds the lock (the script closes fd 9 before its exec, too).
		c.Lock = nil
		r.echo(s.Argv, "")
		h := r.Exec
		if h == nil {
			h = defaultExec
		}
		return h(c)
	}
	if s.Stdin != "" {
		// The rendered script feeds the payload as a heredoc, which
		// always ends with a newline: feed exactly the same bytes.
		payload := s.Stdin
		if !strings.HasSuffix(payload, "\n") {
			payload += "\n"
		}
		c.Stdin = strings.NewReader(payload)
	}
	suffix := ""
	if s.Tolerant {
		suffix = " 2>/dev/null || true"
		c.Stderr = io.Discard
	}
	r.echo(s.Argv, suffix)
	err = r.start(ctx, c)
	if err != nil && s.Tolerant {
		if isExit(err) {
			return errIgnored
		}
	}
	return err
}

// isExit reports whether err is a program's non-zero exit (as opposed to a
// failure to start it).
func isExit(err error) bool {
	var ec interface{ ExitCode() int }
	return errors.As(err, &ec)
}

// describe is a step's description for messages; a command without its
// own description is shown as its quoted argv, as the echo shows it.
func describe(s plan.Step) string {
	if c, ok := s.(plan.Command); ok && c.Show == "" {
		return shell.CommandLine(c.Argv)
	}
	return s.Describe()
}
