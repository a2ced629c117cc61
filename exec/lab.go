package exec

import (
	"os"
	"strings"

	"github.com/npte/npte/plan"
)

// labRecord checks plan.RequireLabRecord as its script does: a GuardError
// when the record is not as expected.
func (r *Runner) labRecord(s plan.RequireLabRecord) error {
	dir := plan.LabDir(r.Registry.Layout.Root, s.Name)
	if s.Digest == "" {
		if _, err := os.Lstat(dir); err == nil {
			return &GuardError{s.Refusal()}
		}
		return nil
	}
	b, err := os.ReadFile(dir + "/digest")
	line, _, complete := strings.Cut(string(b), "\n")
	// read -r strips the blanks around the line, and fails without a newline.
	if err != nil || !complete || strings.Trim(line, " \t") != s.Digest {
		return &GuardError{s.Refusal()}
	}
	return nil
}
