package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/shell"
)

// batch runs a plan.Batch: its argv with its lines as stdin (the bytes of
// the script's heredoc), its stderr passed on and also read back for
// iproute2's "Command failed -:LINE". It returns that line (0 when the
// program said none) with the error.
func (r *Runner) batch(ctx context.Context, s plan.Batch, lock *os.File) (int, error) {
	path, err := r.Resolve(s.Argv[0])
	if err != nil {
		return 0, err
	}
	var errs bytes.Buffer
	c := Cmd{Path: path, Argv: s.Argv, Env: Env(), Stdin: strings.NewReader(s.Stdin()),
		Stdout: r.Stdout, Stderr: io.MultiWriter(r.Stderr, &errs), Lock: lock}
	r.echo(s.Argv, "")
	if err := r.start(ctx, c); err != nil {
		return plan.FailedLine(errs.String()), err
	}
	return 0, nil
}

// batchFail is the StepError of a failed Batch (see batchFailure).
func (st *state) batchFail(s plan.Batch, line int, err error) error {
	done, failed, err := batchFailure(s, line, err)
	st.done = append(st.done, done...)
	return st.fail(failed, err, ExitFailure)
}

// batchFailure says what a failed Batch did: when the program named the
// failing line, the step that failed is that line's original step, and
// what the lines before it did is done; otherwise the whole batch failed
// and any of its lines may have run.
func batchFailure(s plan.Batch, line int, err error) (done []string, failed plan.Step, _ error) {
	if line < 1 || line > len(s.Lines) {
		return []string{"possibly part of " + shell.CommandLine(s.Argv) + " (it named no failing line)"}, s, err
	}
	for _, l := range s.Lines[:line-1] {
		for _, x := range l.Steps {
			done = append(done, describe(x))
		}
	}
	return done, s.Lines[line-1].Steps[0], fmt.Errorf("line %d of %s: %w", line, shell.CommandLine(s.Argv), err)
}

// onlyOwned is plan.IfOnlyOwned's test, as the script's glob loops and
// test(1) lines do it: every marker and intent record (names not starting
// with a dot, as the shell's * matches) is one of names, there is no
// gateway record, and each name has
// a regular marker or intent record, neither of a wrong type, and its
// kernel namespace.
func onlyOwned(l shell.Layout, names []string) (bool, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	for _, dir := range []string{l.NetnsDir(), l.IntentDir(), l.GatewayDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return false, err
		}
		for _, e := range ents {
			// Any gateway record at all sends the teardown the long way.
			if !strings.HasPrefix(e.Name(), ".") && (!want[e.Name()] || dir == l.GatewayDir()) {
				return false, nil
			}
		}
	}
	for _, n := range names {
		m, i := l.Marker(n), l.Intent(n)
		if wrongType(m, false) || wrongType(i, false) {
			return false, nil
		}
		if !isFile(m) && !isFile(i) {
			return false, nil
		}
		if _, err := os.Stat(l.Netns(n)); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// isFile is test -f: p is (or leads by symbolic links to) a regular file.
func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
