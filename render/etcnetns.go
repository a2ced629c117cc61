package render

import "github.com/npte/npte/plan"

// etcNetnsDirGuard writes the guard shared by RequireEtcNetnsAbsent and
// RequireEtcNetnsClean: /etc/netns, when it exists, is a real directory
// owned by root that group and others cannot write. find prints the
// directory when it breaks a rule (POSIX test reads neither owners nor
// mode bits; -user 0 is a uid, whatever root is called).
//
//	if test -L /etc/netns || { test -e /etc/netns && ! test -d /etc/netns; } || test -n "$(find /etc/netns -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) 2>/dev/null)"; then
func (r *renderer) etcNetnsDirGuard(indent string) {
	r.write(indent, "if ")
	r.unsafeDirTest(plan.EtcNetns)
	r.guardEnd(indent, plan.EtcNetnsUnsafe)
}

// unsafeDirTest writes a condition true when p is a symbolic link, exists
// but is not a directory, or is a directory not owned by root or writable
// by group or others. It is false when p does not exist.
func (r *renderer) unsafeDirTest(p string) {
	r.wrongType(p, "-d")
	r.write(` || test -n "$(find `)
	r.path(p)
	r.write(` -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) 2>/dev/null)"`)
}

// etcNetnsAbsent renders plan.RequireEtcNetnsAbsent.
func (r *renderer) etcNetnsAbsent(indent string, s plan.RequireEtcNetnsAbsent) {
	r.etcNetnsDirGuard(indent)
	r.write(indent, "if ")
	r.existsTest(plan.EtcNetnsDir(s.Name))
	r.guardEnd(indent, s.Refusal())
}

// allAbsent renders plan.RequireAllAbsent: RequireAbsent's and
// RequireEtcNetnsAbsent's tests, the directory checks once.
func (r *renderer) allAbsent(indent string, s plan.RequireAllAbsent) {
	l := r.o.Layout
	r.write(indent, "if test -e ")
	r.path(l.RunNetns)
	r.write(" && ! test -d ")
	r.path(l.RunNetns)
	r.guardEnd(indent, plan.RequireAbsent{}.RunNetnsRefusal(l))
	for _, n := range s.Names {
		r.write(indent, "if ")
		r.existsTest(l.Marker(n), l.Intent(n), l.Netns(n))
		r.guardEnd(indent, plan.RequireAbsent{Name: n}.Refusal())
	}
	r.etcNetnsDirGuard(indent)
	for _, n := range s.Names {
		r.write(indent, "if ")
		r.existsTest(plan.EtcNetnsDir(n))
		r.guardEnd(indent, plan.RequireEtcNetnsAbsent{Name: n}.Refusal())
	}
}

// etcNetnsClean renders plan.RequireEtcNetnsClean: the directory guard,
// then one on /etc/netns/NAME, whose entries find lists (DIR/. ! -name .
// -prune is POSIX for "the entries of DIR, not below") unless they are
// npte's resolv.conf.
func (r *renderer) etcNetnsClean(indent string, s plan.RequireEtcNetnsClean) {
	r.etcNetnsDirGuard(indent)
	d := plan.EtcNetnsDir(s.Name)
	r.write(indent, "if ")
	r.unsafeDirTest(d)
	r.write(` || test -n "$(find `)
	r.path(d + "/.")
	r.write(` ! -name . -prune ! \( -name resolv.conf -type f -user 0 ! -perm -020 ! -perm -002 \) 2>/dev/null)"`)
	r.guardEnd(indent, s.Refusal())
}

// runAs renders plan.RequireRunAs. A failing id (an unknown user, a
// missing namespace) prints nothing, which neither test accepts; the
// command substitutions sit where set -e does not look at their status.
func (r *renderer) runAs(indent string, s plan.RequireRunAs) error {
	r.write(indent, `if test "$(`)
	if err := r.argv(s.UIDArgv()); err != nil {
		return err
	}
	r.write(` 2>/dev/null)" != `)
	if err := r.word(s.UID); err != nil {
		return err
	}
	r.guardEnd(indent, s.UIDRefusal())
	r.write(indent, `case " $(`)
	if err := r.argv(s.GroupsArgv()); err != nil {
		return err
	}
	r.line(` 2>/dev/null) " in`)
	r.line(indent, `*" 0 "* | "  ")`)
	r.write(indent, "\techo ")
	r.message(s.GroupsRefusal())
	r.line(" >&2")
	r.line(indent, "\texit 2")
	r.line(indent, "\t;;")
	r.line(indent, "esac")
	return nil
}
