package userfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/npte/npte/userfile"
)

// TestReadAsCaller: a file the caller could not read is refused even
// though the process is root; one the caller can read is read; and the
// process keeps its own rights afterwards. It only reads files it made
// in its own temporary directory.
func TestReadAsCaller(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: changing the file-system uid needs CAP_SETUID (CI runs as root)")
	}
	// t.TempDir makes its directory and the one above it 0700: open both
	// (they are this test's own) so that only the cases' modes matter.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("name: "+name+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("secret", 0o600)
	public := write("public", 0o644)
	closed := filepath.Join(dir, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(closed, "lab.yaml")
	if err := os.WriteFile(hidden, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := write("big", 0o644)
	if err := os.Truncate(big, userfile.MaxSize+1); err != nil {
		t.Fatal(err)
	}
	nobody := &userfile.Cred{UID: 65534, GID: 65534}
	for _, tc := range []struct {
		name string
		path string
		cred *userfile.Cred
		want error // nil: readable
	}{
		{"root reads a 0600 file", secret, nil, nil},
		{"nobody cannot read a 0600 root file", secret, nobody, fs.ErrPermission},
		{"nobody reads a 0644 file", public, nobody, nil},
		{"nobody cannot search a 0700 directory", hidden, nobody, fs.ErrPermission},
		{"group 0 as a supplementary group does not open a 0600 file", secret, &userfile.Cred{UID: 65534, GID: 65534, Groups: []uint32{0}}, fs.ErrPermission},
		{"too large", big, nobody, userfile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := userfile.Read(tc.path, tc.cred)
			if tc.want == nil {
				if err != nil || len(data) == 0 {
					t.Fatalf("Read(%s) = %q, %v; want its contents", tc.path, data, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read(%s) = %q, %v; want %v", tc.path, data, err, tc.want)
			}
		})
		// The process itself keeps root's rights after every call.
		if _, err := userfile.Read(secret, nil); err != nil {
			t.Fatalf("after %q, root can no longer read %s: %v", tc.name, secret, err)
		}
	}
}
