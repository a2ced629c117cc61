package render

import (
	"fmt"

	"github.com/npte/npte/plan"
)

// gatewayStep renders the steps of plan/gateway.go (see their
// "Renders as").
func (r *renderer) gatewayStep(s plan.Step, indent string) error {
	l := r.o.Layout
	switch s := s.(type) {
	case plan.RequireNoRoute:
		r.write(indent, "npte_out=$(")
		if err := r.argv(s.Argv); err != nil {
			return err
		}
		r.line(") || exit 1")
		r.line(indent, "while read -r npte_a npte_b npte_c; do")
		r.line(indent, "\t", `if test -n "$npte_a" && test "$npte_a" != default && test "$npte_b" != default; then`)
		r.write(indent, "\t\tprintf '%s %s %s %s\\n' ")
		r.message(s.Message, ":")
		r.line(` "$npte_a" "$npte_b" "$npte_c" >&2`)
		r.line(indent, "\t\texit 2")
		r.line(indent, "\tfi")
		r.line(indent, "done <<NPTE_EOF")
		// The heredoc's lines are data: no indentation.
		r.line("$npte_out")
		r.line("NPTE_EOF")
	case plan.IfOutput:
		r.write(indent, `if test -n "$(`)
		if err := r.argv(s.Argv); err != nil {
			return err
		}
		r.line(` 2>/dev/null)"; then`)
		if err := r.steps(s.Then, indent+"\t"); err != nil {
			return err
		}
		r.line(indent, "fi")
	case plan.RequireNoGatewayRecord:
		r.gatewayDirGuard(indent)
		r.write(indent, "if ")
		r.existsTest(l.GatewayRecords(s.NS)...)
		r.guardEnd(indent, s.Refusal(l))
	case plan.WriteGatewayRecord:
		r.gatewayDirGuard(indent)
		r.write(indent, "install -d -m 0755 ")
		r.path(l.GatewayDir())
		r.line()
		r.write(indent, "(set -C; : >")
		r.path(l.GatewayRecord(s.NS, s.Firewall))
		r.line(")")
	case plan.RemoveGatewayRecord:
		r.write(indent, "rm -f -- ")
		r.path(l.GatewayRecord(s.NS, s.Firewall))
		r.line()
	case plan.RequireSafeGatewayRecords:
		recs := l.GatewayRecords(s.NS)
		d := l.GatewayDir()
		r.write(indent, "if ")
		r.wrongType(d, "-d")
		for _, p := range recs {
			r.write(" || ")
			r.wrongType(p, "-f")
		}
		r.guardEnd(indent, s.Refusal(l))
	case plan.IfGatewayRecord:
		recs := l.GatewayRecords(s.NS)
		r.write(indent, "if ")
		if s.Firewall != "" {
			r.regular(l.GatewayRecord(s.NS, s.Firewall))
		} else {
			for i, p := range recs {
				if i > 0 {
					r.write(" && ")
				}
				r.write("! ")
				r.regular(p)
			}
		}
		r.line("; then")
		if err := r.steps(s.Then, indent+"\t"); err != nil {
			return err
		}
		r.line(indent, "fi")
	default:
		return fmt.Errorf("render: unknown step %T", s)
	}
	return nil
}

// gatewayDirGuard refuses (exit 2) a gateway record directory that is a
// symbolic link or not a directory.
func (r *renderer) gatewayDirGuard(indent string) {
	d := r.o.Layout.GatewayDir()
	r.write(indent, "if ")
	r.wrongType(d, "-d")
	r.guardEnd(indent, plan.GatewayDirRefusal(r.o.Layout))
}
