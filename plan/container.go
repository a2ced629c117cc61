package plan

import "strings"

// RequireRootfs refuses to go on (exit 2) unless Path, the root directory
// of a container tree, and every directory above it that exists, is a
// real directory (not a symbolic link) owned by root and not writable by
// group or others unless it has the sticky bit (as /tmp and /var/tmp do):
// nobody but root can swap the tree npte hands to debootstrap or
// systemd-nspawn. With Fresh (container create), Path must also be absent
// or empty; without it (run, boot), Path must exist.
//
// Renders as:
//
//	if test -L / || test -L /A || ... || test -L PATH || { test -e PATH && ! test -d PATH; } ||
//		test -n "$(find / /A ... PATH -prune \( ! -user 0 -o ! -perm -1000 \( -perm -020 -o -perm -002 \) \) 2>/dev/null)"; then
//		echo 'npte: ROOTFS ...' >&2; exit 2; fi
//	if test -n "$(find PATH/. ! -name . -prune 2>/dev/null)"; then echo 'npte: PATH ... not empty' >&2; exit 2; fi   (Fresh)
//	if ! test -d PATH; then echo 'npte: PATH is not a directory ...' >&2; exit 2; fi                                (!Fresh)
type RequireRootfs struct {
	Path  string // absolute and clean
	Fresh bool
}

func (RequireRootfs) isStep() {}

// Describe implements Step.
func (s RequireRootfs) Describe() string {
	if s.Fresh {
		return "check that " + s.Path + " is a new or empty root-owned directory"
	}
	return "check that " + s.Path + " is a root-owned directory"
}

// Chain returns Path and every directory above it, from "/" down.
func (s RequireRootfs) Chain() []string {
	out := []string{"/"}
	if s.Path == "/" {
		return out
	}
	parts := strings.Split(strings.TrimPrefix(s.Path, "/"), "/")
	for i := range parts {
		out = append(out, "/"+strings.Join(parts[:i+1], "/"))
	}
	return out
}

// UnsafeRefusal is the message of a tree with an unsafe path.
func (s RequireRootfs) UnsafeRefusal() string {
	return "rootfs " + s.Path + ", or a directory above it, is a symbolic link, not a directory, not owned by root, or writable by group or others without the sticky bit; refusing to use it (whoever can write there could swap the tree)"
}

// NotEmptyRefusal is the message of a create into a non-empty directory.
func (s RequireRootfs) NotEmptyRefusal() string {
	return "rootfs " + s.Path + " exists and is not empty: container create needs a new or empty directory"
}

// MissingRefusal is the message of run or boot on a missing tree.
func (s RequireRootfs) MissingRefusal() string {
	return "rootfs " + s.Path + " is not a directory: make the tree with npte container create SUITE " + s.Path
}
