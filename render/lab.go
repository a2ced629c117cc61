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

// labRecordWrite renders plan.WriteLabRecord.
func (r *renderer) labRecordWrite(indent string, s plan.WriteLabRecord) error {
	root := r.o.Layout.Root
	dir := plan.LabDir(root, s.Name)
	r.write(indent, "install -d -m 0755 ")
	r.path(root + "/lab")
	r.write(" ")
	r.path(dir)
	r.line(" || exit 1")
	r.write(indent, "printf '%s' ")
	if err := r.word(s.Content); err != nil {
		return err
	}
	r.write(" >")
	r.path(dir + "/" + s.File)
	r.line(" || exit 1")
	return nil
}

// labRecordRemove renders plan.RemoveLabRecord.
func (r *renderer) labRecordRemove(indent string, s plan.RemoveLabRecord) {
	dir := plan.LabDir(r.o.Layout.Root, s.Name)
	if s.File == "" {
		r.write(indent, "rm -rf -- ")
		r.path(dir)
	} else {
		r.write(indent, "rm -f -- ")
		r.path(dir + "/" + s.File)
	}
	r.line(" || exit 1")
}
