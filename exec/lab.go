package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
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

// labRecordWrite does plan.WriteLabRecord: the directories (0755, never
// through a symbolic link), then the file (O_NOFOLLOW, 0644).
func (r *Runner) labRecordWrite(s plan.WriteLabRecord) error {
	root := r.Registry.Layout.Root
	dir := plan.LabDir(root, s.Name)
	for _, d := range []string{root + "/lab", dir} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is a symbolic link or not a directory", registry.ErrUnsafe, d)
		}
	}
	f, err := os.OpenFile(dir+"/"+s.File, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s.Content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// labRecordRemove does plan.RemoveLabRecord.
func (r *Runner) labRecordRemove(s plan.RemoveLabRecord) error {
	dir := plan.LabDir(r.Registry.Layout.Root, s.Name)
	if s.File == "" {
		return os.RemoveAll(dir)
	}
	if err := os.Remove(dir + "/" + s.File); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
