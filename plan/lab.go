package plan

// LabDir is the record directory of lab Name under the default state
// root: /run/npte/lab/NAME (the renderer and the executor substitute
// their layout's root).
func LabDir(root, name string) string { return root + "/lab/" + name }

// RequireLabRecord refuses to go on (exit 2) unless the record of lab
// Name is as the plan expects: with Digest empty, that there is no record
// directory at all (a new lab); otherwise that its digest file's first
// line is exactly Digest (the record the plan was computed from, so that
// two applies of one lab cannot interleave their plans).
//
// Renders as:
//
//	if test -e /run/npte/lab/NAME || test -L /run/npte/lab/NAME; then echo 'npte: ...' >&2; exit 2; fi   (no Digest)
//	if ! { read -r npte_d </run/npte/lab/NAME/digest && test "$npte_d" = DIGEST; } 2>/dev/null; then
//		echo 'npte: ...' >&2; exit 2; fi
type RequireLabRecord struct {
	Name   string
	Digest string
}

func (RequireLabRecord) isStep() {}

// Describe implements Step.
func (s RequireLabRecord) Describe() string {
	if s.Digest == "" {
		return "check that lab " + s.Name + " has no record yet"
	}
	return "check that the record of lab " + s.Name + " is the one the plan was made from"
}

// Refusal is the one-line message when the record is not as expected.
func (s RequireLabRecord) Refusal() string {
	if s.Digest == "" {
		return "lab " + s.Name + " already exists (it has a record): npte lab plan FILE shows what apply would change"
	}
	return "the record of lab " + s.Name + " is not the one this plan was made from (another apply, or a destroy, ran since): plan again"
}

// LabRecordFiles are the files a lab record may hold.
var LabRecordFiles = []string{"lab.json", "digest", "previous.json"}

// WriteLabRecord writes File (one of LabRecordFiles) of lab Name's record
// under the state root, with Content, making the record directories
// (mode 0755) first. Live mode refuses a symbolic link anywhere on the
// way and writes with O_NOFOLLOW, mode 0644.
//
// Renders as:
//
//	install -d -m 0755 /run/npte/lab /run/npte/lab/NAME
//	printf '%s' 'CONTENT' >/run/npte/lab/NAME/FILE
type WriteLabRecord struct {
	Name, File, Content string
}

// RemoveLabRecord removes File of lab Name's record, or with File empty
// the whole record directory.
//
// Renders as: rm -f -- /run/npte/lab/NAME/FILE, or rm -rf -- /run/npte/lab/NAME
type RemoveLabRecord struct {
	Name, File string
}

func (WriteLabRecord) isStep()  {}
func (RemoveLabRecord) isStep() {}

// Describe implements Step.
func (s WriteLabRecord) Describe() string { return "record " + s.File + " of lab " + s.Name }

// Describe implements Step.
func (s RemoveLabRecord) Describe() string {
	if s.File == "" {
		return "remove the record of lab " + s.Name
	}
	return "remove " + s.File + " from the record of lab " + s.Name
}
