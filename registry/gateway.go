package registry

// Gateway records: `npte gateway create NS` writes, under the lock and
// before it changes anything on the host, the regular file
// ROOT/gateway/NS.FIREWALL (FIREWALL is the backend, "nft" or
// "iptables"). `gateway destroy NS`, `netns destroy NS` and `lab destroy`
// remove the host-side state of a gateway only when it is recorded (and,
// for the host link, only when it carries npte's link group as well), then
// drop the record. A namespace name has no dot, so NS.FIREWALL is
// unambiguous.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/npte/npte/shell"
)

func checkGateway(ns, fw string) error {
	if err := checkName(ns); err != nil {
		return err
	}
	for _, f := range shell.GatewayFirewalls() {
		if fw == f {
			return nil
		}
	}
	return fmt.Errorf("registry: firewall backend %q: must be one of %v", fw, shell.GatewayFirewalls())
}

// gatewayDirSafe returns an error wrapping ErrUnsafe when the record
// directory is a symbolic link or not a directory; a missing directory is
// fine (nothing is recorded).
func (r *Registry) gatewayDirSafe() error {
	fi, err := os.Lstat(r.Layout.GatewayDir())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("registry: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; refusing to follow it", ErrUnsafe, r.Layout.GatewayDir())
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, r.Layout.GatewayDir())
	}
	return nil
}

// GatewayRecorded reports whether the gateway of ns is recorded with
// backend fw, or, with fw "", with any backend. A record path that is not a
// regular file (a symbolic link, a directory) is an error wrapping
// ErrUnsafe, as is a record directory that is a symbolic link.
func (r *Registry) GatewayRecorded(ns, fw string) (bool, error) {
	if fw != "" {
		if err := checkGateway(ns, fw); err != nil {
			return false, err
		}
	} else if err := checkName(ns); err != nil {
		return false, err
	}
	if err := r.gatewayDirSafe(); err != nil {
		return false, err
	}
	// Every record path is checked for safety, as the rendered guard does.
	found := false
	for _, f := range shell.GatewayFirewalls() {
		ok, err := isRegular(r.Layout.GatewayRecord(ns, f))
		if err != nil {
			return false, err
		}
		if ok && (fw == "" || fw == f) {
			found = true
		}
	}
	return found, nil
}

// GatewayTaken reports whether any record path of ns exists, whatever its
// type (create refuses then).
func (r *Registry) GatewayTaken(ns string) (bool, error) {
	if err := checkName(ns); err != nil {
		return false, err
	}
	if err := r.gatewayDirSafe(); err != nil {
		return false, err
	}
	for _, p := range r.Layout.GatewayRecords(ns) {
		_, err := os.Lstat(p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("registry: %w", err)
		}
	}
	return false, nil
}

// WriteGatewayRecord creates the record directory if needed (mode 0755,
// checked like the other state directories) and writes the record of ns
// with backend fw (O_CREAT|O_EXCL|O_NOFOLLOW). The caller holds the lock.
func (r *Registry) WriteGatewayRecord(ns, fw string) error {
	if err := checkGateway(ns, fw); err != nil {
		return err
	}
	if err := r.gatewayDirSafe(); err != nil {
		return err
	}
	if err := r.checkDir(r.Layout.GatewayDir(), true); err != nil {
		return err
	}
	return createExcl(r.Layout.GatewayRecord(ns, fw))
}

// RemoveGatewayRecord removes the record of ns with backend fw and reports
// whether there was one; a missing record is not an error, and a symbolic
// link is removed, never followed. A record directory that is a symbolic
// link is refused (ErrUnsafe).
func (r *Registry) RemoveGatewayRecord(ns, fw string) (bool, error) {
	if err := checkGateway(ns, fw); err != nil {
		return false, err
	}
	if err := r.gatewayDirSafe(); err != nil {
		return false, err
	}
	p := r.Layout.GatewayRecord(ns, fw)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return true, remove(p)
}
