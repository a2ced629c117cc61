package exec

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
)

// unsafeDir reports, as the rendered script's test and find do, whether p
// is a symbolic link, exists but is not a directory, or is a directory
// not owned by root or writable by group or others. A missing p is safe.
func unsafeDir(p string) (bool, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return !fi.IsDir() || !rootOnly(fi), nil
}

// rootOnly reports whether fi is owned by uid 0 and not writable by group
// or others (find's ! -user 0 -o -perm -020 -o -perm -002, negated).
func rootOnly(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0 && fi.Mode().Perm()&0o022 == 0
}

// requireEtcNetnsDir is the guard on /etc/netns shared by both steps.
func requireEtcNetnsDir() error {
	if bad, _ := unsafeDir(plan.EtcNetns); bad {
		return &GuardError{plan.EtcNetnsUnsafe}
	}
	return nil
}

// requireEtcNetnsAbsent runs plan.RequireEtcNetnsAbsent.
func requireEtcNetnsAbsent(s plan.RequireEtcNetnsAbsent) error {
	if err := requireEtcNetnsDir(); err != nil {
		return err
	}
	if _, err := os.Lstat(plan.EtcNetnsDir(s.Name)); err == nil {
		return &GuardError{s.Refusal()}
	}
	return nil
}

// requireEtcNetnsClean runs plan.RequireEtcNetnsClean: /etc/netns/NAME is
// absent, or a root-only directory whose only entry may be a root-only
// regular file resolv.conf.
func requireEtcNetnsClean(s plan.RequireEtcNetnsClean) error {
	if err := requireEtcNetnsDir(); err != nil {
		return err
	}
	d := plan.EtcNetnsDir(s.Name)
	if bad, _ := unsafeDir(d); bad {
		return &GuardError{s.Refusal()}
	}
	entries, err := os.ReadDir(d)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &GuardError{s.Refusal()}
	}
	for _, e := range entries {
		if e.Name() != "resolv.conf" {
			return &GuardError{s.Refusal()}
		}
		fi, err := os.Lstat(d + "/" + e.Name())
		if err != nil || !fi.Mode().IsRegular() || !rootOnly(fi) {
			return &GuardError{s.Refusal()}
		}
	}
	return nil
}

// requireRunAs runs plan.RequireRunAs: the two id commands, with their
// output captured and compared as the rendered script compares it (sh's
// command substitution drops trailing newlines; a failure prints nothing).
func (r *Runner) requireRunAs(ctx context.Context, s plan.RequireRunAs, lock *os.File) error {
	uid := r.capture(ctx, s.UIDArgv(), lock)
	if uid != s.UID {
		return &GuardError{s.UIDRefusal()}
	}
	groups := " " + r.capture(ctx, s.GroupsArgv(), lock) + " "
	if strings.Contains(groups, " 0 ") || groups == "  " {
		return &GuardError{s.GroupsRefusal()}
	}
	return nil
}

// capture is "$(ARGV 2>/dev/null)" in sh: output with stderr discarded
// and trailing newlines dropped, whatever the exit status, and "" when the
// program cannot start.
func (r *Runner) capture(ctx context.Context, argv []string, lock *os.File) string {
	out, _ := r.output(ctx, argv, io.Discard, lock)
	return strings.TrimRight(out, "\n")
}

// requireAllAbsent runs plan.RequireAllAbsent in the script's order: the
// /run/netns check and every name's records, then the /etc/netns check
// and every name's /etc/netns/NAME.
func requireAllAbsent(reg *registry.Registry, s plan.RequireAllAbsent) error {
	for _, n := range s.Names {
		taken, err := reg.Taken(n)
		if errors.Is(err, registry.ErrUnsafe) {
			return &GuardError{plan.RequireAbsent{}.RunNetnsRefusal(reg.Layout)}
		}
		if err == nil && taken {
			return &GuardError{plan.RequireAbsent{Name: n}.Refusal()}
		}
	}
	if err := requireEtcNetnsDir(); err != nil {
		return err
	}
	for _, n := range s.Names {
		if _, err := os.Lstat(plan.EtcNetnsDir(n)); err == nil {
			return &GuardError{plan.RequireEtcNetnsAbsent{Name: n}.Refusal()}
		}
	}
	return nil
}
