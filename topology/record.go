package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"syscall"

	"github.com/npte/npte/registry"
	"github.com/npte/npte/validate"
)

// Record is what npte keeps of an applied lab.
type Record struct {
	// Lab is the lab as last applied (lab.json).
	Lab *Lab
	// Previous is the lab an unfinished apply started from
	// (previous.json), or nil.
	Previous *Lab
}

// readSafe reads a regular file owned by owner, not writable by group or
// others, without following a symbolic link. A missing file is (nil, nil).
func readSafe(path string, owner int) ([]byte, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := safe(path, fi, owner, false); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi2, err := f.Stat()
	if err != nil || !os.SameFile(fi, fi2) {
		return nil, fmt.Errorf("%w: %s changed while npte read it", registry.ErrUnsafe, path)
	}
	b := make([]byte, 0, fi2.Size())
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
		if len(b) > 64<<20 {
			return nil, fmt.Errorf("%s: record larger than 64 MiB", path)
		}
	}
	return b, nil
}

func safe(path string, fi fs.FileInfo, owner int, dir bool) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; refusing to follow it", registry.ErrUnsafe, path)
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a %s", registry.ErrUnsafe, path, map[bool]string{true: "directory", false: "regular file"}[dir])
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by group or others", registry.ErrUnsafe, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != owner {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", registry.ErrUnsafe, path, st.Uid, owner)
	}
	return nil
}

func checkDir(path string, owner int) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, safe(path, fi, owner, true)
}

// ReadRecord reads the record of lab name under root (the state root),
// refusing paths that are symbolic links, not owned by owner or
// writable by others. It returns nil (and no error) when the lab has no
// record. It reads without the lock: Apply's plan checks, under the lock,
// that the record it was planned from is still there (its digest).
func ReadRecord(root, name string, owner int) (*Record, error) {
	if err := validate.NetnsName(name); err != nil {
		return nil, fmt.Errorf("lab %w", err)
	}
	for _, d := range []string{root, LabsDir(root), RecordDir(root, name)} {
		ok, err := checkDir(d, owner)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
	dir := RecordDir(root, name)
	var rec Record
	for _, f := range []struct {
		name string
		dst  **Lab
	}{{RecordFile, &rec.Lab}, {PreviousFile, &rec.Previous}} {
		b, err := readSafe(dir+"/"+f.name, owner)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		l, err := DecodeRecord(b)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", dir, f.name, err)
		}
		*f.dst = l
	}
	if rec.Lab == nil && rec.Previous == nil {
		// A directory without a record: an apply that died before writing
		// it; nothing of the lab was made yet.
		return &Record{}, nil
	}
	return &rec, nil
}

// ListRecords returns the names of the labs recorded under root, sorted.
func ListRecords(root string, owner int) ([]string, error) {
	for _, d := range []string{root, LabsDir(root)} {
		ok, err := checkDir(d, owner)
		if err != nil || !ok {
			return nil, err
		}
	}
	ents, err := os.ReadDir(LabsDir(root))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && validate.NetnsName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
