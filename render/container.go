package render

import "github.com/npte/npte/plan"

// rootfs renders plan.RequireRootfs (see its doc for the shell).
func (r *renderer) rootfs(indent string, s plan.RequireRootfs) {
	chain := s.Chain()
	r.write(indent, "if ")
	r.symlinkTest(chain...)
	r.write(" || { test -e ")
	r.path(s.Path)
	r.write(" && ! test -d ")
	r.path(s.Path)
	r.write("; } || test -n \"$(find")
	for _, p := range chain {
		r.write(" ")
		r.path(p)
	}
	r.write(` -prune \( ! -user 0 -o ! -perm -1000 \( -perm -020 -o -perm -002 \) \) 2>/dev/null)"`)
	r.guardEnd(indent, s.UnsafeRefusal())
	if s.Fresh {
		r.write(indent, "if test -n \"$(find ")
		r.path(s.Path + "/.")
		r.write(` ! -name . -prune 2>/dev/null)"`)
		r.guardEnd(indent, s.NotEmptyRefusal())
	} else {
		r.write(indent, "if ! test -d ")
		r.path(s.Path)
		r.guardEnd(indent, s.MissingRefusal())
	}
}
