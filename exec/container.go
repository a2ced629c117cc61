package exec

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/npte/npte/plan"
)

// requireRootfs is plan.RequireRootfs live: the same checks as the
// script's test and find, with Lstat.
func requireRootfs(s plan.RequireRootfs) error {
	for _, p := range s.Chain() {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // debootstrap creates it (root, 0755)
		}
		if err != nil || !rootOwnedDir(fi) {
			return &GuardError{s.UnsafeRefusal()}
		}
	}
	if s.Fresh {
		f, err := os.Open(s.Path)
		if err != nil {
			return nil // absent (or unreadable: find prints nothing either)
		}
		defer f.Close()
		if names, _ := f.Readdirnames(1); len(names) > 0 {
			return &GuardError{s.NotEmptyRefusal()}
		}
		return nil
	}
	if fi, err := os.Stat(s.Path); err != nil || !fi.IsDir() {
		return &GuardError{s.MissingRefusal()}
	}
	return nil
}

// rootOwnedDir: a directory (not a symbolic link) owned by uid 0, not
// writable by group or others unless sticky.
func rootOwnedDir(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != 0 {
		return false
	}
	return fi.Mode()&fs.ModeSticky != 0 || fi.Mode().Perm()&0o022 == 0
}
