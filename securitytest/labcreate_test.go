package securitytest

import (
	"os"
	"testing"
)

// makeLabState is makeState plus the directory of lab records, which
// `lab create` (an apply of the built-in lab file) makes with the lab's
// record and `lab destroy` leaves, as `netns destroy` leaves
// /run/npte/netns: the baseline of a kill-point test of lab create.
func makeLabState(t testing.TB) {
	t.Helper()
	makeState(t)
	if err := os.MkdirAll("/run/npte/lab", 0o755); err != nil {
		t.Fatal(err)
	}
}
