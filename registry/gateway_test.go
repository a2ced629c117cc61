package registry_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

func TestGatewayRecords(t *testing.T) {
	root := t.TempDir()
	_ = os.Chmod(root, 0o755)
	l := shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns")}
	if got := l.GatewayRecord("router", "nft"); got != l.Root+"/gateway/router.nft" {
		t.Errorf("record path %q", got)
	}
	r := registry.New(l, os.Getuid())
	if err := r.Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, fw := range []string{"", "nft", "iptables"} {
		if ok, err := r.GatewayRecorded("router", fw); ok || err != nil {
			t.Errorf("no record, %q: %v %v", fw, ok, err)
		}
	}
	if err := r.WriteGatewayRecord("router", "iptables"); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteGatewayRecord("router", "iptables"); err == nil {
		t.Error("a second record was written over the first")
	}
	for fw, want := range map[string]bool{"": true, "nft": false, "iptables": true} {
		if ok, err := r.GatewayRecorded("router", fw); ok != want || err != nil {
			t.Errorf("%q: %v %v, want %v", fw, ok, err, want)
		}
	}
	if taken, err := r.GatewayTaken("router"); !taken || err != nil {
		t.Errorf("taken %v %v", taken, err)
	}
	for _, bad := range [][2]string{{"router", "pf"}, {"router", "../x"}, {"../x", "nft"}, {"Router", "nft"}} {
		if err := r.WriteGatewayRecord(bad[0], bad[1]); err == nil {
			t.Errorf("record %q accepted", bad)
		}
	}
	if removed, err := r.RemoveGatewayRecord("router", "iptables"); !removed || err != nil {
		t.Errorf("remove: %v %v", removed, err)
	}
	if removed, err := r.RemoveGatewayRecord("router", "iptables"); removed || err != nil {
		t.Errorf("remove again: %v %v", removed, err)
	}
	// A record that is a symbolic link is unsafe, never followed.
	if err := os.Symlink("/etc/passwd", l.GatewayRecord("router", "nft")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GatewayRecorded("router", ""); !errors.Is(err, registry.ErrUnsafe) {
		t.Errorf("symlinked record: %v", err)
	}
}
