package exec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/shell"
)

// busyNamespaces returns the names, in order, that a process is in: the
// inode of /run/netns/NAME (followed, as stat -L does) is that of some
// PROC/[0-9]*/ns/net. It reads what the script's one stat reads, and
// like it, it takes a path it cannot read for one that is not there.
func busyNamespaces(l shell.Layout, names []string) []string {
	ents, _ := os.ReadDir(l.ProcDir())
	inodes := map[uint64]bool{}
	for _, e := range ents {
		if n := e.Name(); n[0] >= '0' && n[0] <= '9' {
			if ino, ok := inode(l.ProcDir() + "/" + n + "/ns/net"); ok {
				inodes[ino] = true
			}
		}
	}
	var busy []string
	for _, n := range names {
		if ino, ok := inode(l.Netns(n)); ok && inodes[ino] {
			busy = append(busy, n)
		}
	}
	return busy
}

// inode is stat -L -c %i of p.
func inode(p string) (uint64, bool) {
	var st syscall.Stat_t
	if syscall.Stat(p, &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// cutBusyLinks runs plan.CutBusyLinks: with no busy namespace it runs
// nothing; otherwise the same reads, the same awk (with the same standard
// input) and the same deletions as the script.
func (r *Runner) cutBusyLinks(ctx context.Context, st *state, s plan.CutBusyLinks) error {
	busy := busyNamespaces(r.Registry.Layout, s.Names)
	if len(busy) == 0 {
		return nil
	}
	shown := make([]string, len(busy))
	for i, b := range busy {
		out, err := r.read(ctx, s.ShowArgv(b), "", st.lock)
		if err != nil {
			return fmt.Errorf("%s: %w", shell.CommandLine(s.ShowArgv(b)), err)
		}
		shown[i] = out
	}
	out, err := r.read(ctx, s.CoverArgv(), plan.CoverInput(busy, shown), st.lock)
	if err != nil {
		return fmt.Errorf("awk (the choice of the namespaces whose links to delete): %w", err)
	}
	for _, c := range strings.Fields(out) {
		if !slices.Contains(s.Names, c) {
			return fmt.Errorf("awk chose %q, which is not a namespace of this teardown", c)
		}
		argv := s.DeleteArgv(c)
		if err := r.command(ctx, plan.Command{Argv: argv}, st.lock); err != nil {
			return fmt.Errorf("%s: %w", shell.CommandLine(argv), err)
		}
		st.done = append(st.done, s.DeleteShow(c))
	}
	return nil
}

// read runs a read-only argv (no echo, as the script's command
// substitutions print nothing of themselves) with stdin, its error output
// passed on, and returns its standard output.
func (r *Runner) read(ctx context.Context, argv []string, stdin string, lock *os.File) (string, error) {
	path, err := r.Resolve(argv[0])
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	c := Cmd{Path: path, Argv: argv, Env: Env(), Stdout: &out, Stderr: r.Stderr, Lock: lock}
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	err = r.start(ctx, c)
	return out.String(), err
}
