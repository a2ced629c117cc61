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
	if quotable(s.Content) {
		// What shell.Word gives for such text, without its cost on a
		// record of megabytes (a 1000-node lab).
		r.write("'", s.Content, "'")
	} else if err := r.word(s.Content); err != nil {
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

// quotable reports whether text (long, and not a plain word) can go
// between single quotes as it is: printable ASCII without a quote.
func quotable(text string) bool {
	if len(text) < 1024 {
		return false
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < ' ' || c > '~' || c == '\'' {
			return false
		}
	}
	return true
}
