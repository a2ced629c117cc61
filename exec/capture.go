package exec

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/npte/npte/plan"
)

// Read is one read-only program run by Capture: an allowlisted argv and,
// when not empty, what it reads on its standard input.
type Read struct {
	Argv  []string
	Stdin string
}

// Captured is what one Read did: its standard output and error output,
// and nil, the program's non-zero exit (an error with an ExitCode() int
// method) or why it could not start (not installed, not allowlisted).
type Captured struct {
	Stdout, Stderr []byte
	Err            error
}

// Capture is the one path of the read-only verbs (netns show, netem show,
// doctor): it runs guards, steps that change nothing (RequireManaged,
// RequireIface, Probe), as Run does, then every read at once, and returns
// what each printed, in the order of reads. Nothing is echoed: the output
// of a read, and its echo (Echo) if wanted, are the caller's to print. A guard's refusal or failure is a
// *StepError, as from Run; a read that fails is only reported in its
// Captured. The caller holds npte's lock, when it needs it, with
// registry.LockExisting (a read creates no state); the reads do not
// inherit it.
func (r *Runner) Capture(ctx context.Context, guards []plan.Step, reads ...Read) ([]Captured, error) {
	if len(guards) > 0 {
		// A nil sigs never delivers: guards are quick and change nothing.
		st := &state{p: plan.Plan{Steps: guards}, total: plan.Count(guards), sigs: r.Signals}
		if err := r.steps(ctx, st, guards); err != nil {
			return nil, err
		}
	}
	out := make([]Captured, len(reads))
	cmds := make([]*Cmd, len(reads))
	// Programs are resolved first, one after the other (the Runner caches
	// lookups), then run concurrently.
	for i, rd := range reads {
		path, err := r.Resolve(rd.Argv[0])
		if err != nil {
			out[i].Err = err
			continue
		}
		c := Cmd{Path: path, Argv: rd.Argv, Env: Env()}
		if rd.Stdin != "" {
			c.Stdin = strings.NewReader(rd.Stdin)
		}
		cmds[i] = &c
	}

	var wg sync.WaitGroup
	for i, c := range cmds {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func(res *Captured, c Cmd) {
			defer wg.Done()
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			res.Err = r.start(ctx, c)
			res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
		}(&out[i], *c)
	}
	wg.Wait()
	return out, nil
}

// Echo writes "+ ARGV" on the Runner's Stderr, as Run echoes a command
// before it runs it: netns show prints it before each read's diagnostics.
func (r *Runner) Echo(argv []string) { r.echo(argv, "") }
