package render

import "github.com/npte/npte/plan"

// labRecord renders plan.RequireLabRecord.
func (r *renderer) labRecord(indent string, s plan.RequireLabRecord) error {
	dir := plan.LabDir(r.o.Layout.Root, s.Name)
	if s.Digest == "" {
		r.write(indent, "if test -e ")
		r.path(dir)
		r.write(" || test -L ")
		r.path(dir)
		r.guardEnd(indent, s.Refusal())
		return nil
	}
	r.write(indent, "if ! { read -r npte_d <")
	r.path(dir + "/digest")
	r.write(" && test \"$npte_d\" = ")
	if err := r.word(s.Digest); err != nil {
		return err
	}
	r.write("; } 2>/dev/null")
	r.guardEnd(indent, s.Refusal())
	return nil
}
