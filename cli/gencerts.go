package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/npte/npte/certs"
)

// GencertsCmd is `npte gencerts [-C DIR] [--dns-name NAME]... [--ip-addr ADDR]... [--days N]`.
type GencertsCmd struct {
	Directory string   `short:"C" name:"directory" default:"." placeholder:"DIR" help:"Where to write ca.pem, cert.pem and key.pem (created 0700 if missing)."`
	DNSName   []string `name:"dns-name" sep:"none" placeholder:"NAME" help:"A DNS name the server answers to, e.g. server (repeatable)."`
	IPAddr    []string `name:"ip-addr" sep:"none" placeholder:"ADDR" help:"An address the server answers on, e.g. 172.16.2.2 (repeatable)."`
	Days      int      `name:"days" default:"365" help:"Validity of both certificates, in days (1 to 3650)."`
}

// Help is the long help of gencerts.
func (c *GencertsCmd) Help() string {
	return `Writes, in DIR: ca.pem, a throwaway certificate authority; cert.pem, a server
certificate it signs, with a subject alternative name for every --dns-name and --ip-addr
(the first one is also its common name); key.pem, the server's private key. Keys are
ECDSA P-256 (Go's crypto/ecdsa and crypto/x509); both certificates are valid from an hour
ago for --days days. Without --dns-name and --ip-addr the certificate covers localhost,
127.0.0.1 and ::1.

The CA's own key is never written: ca.pem vouches for this one server certificate and
nothing else, so trusting it (curl --cacert ca.pem, or a browser's certificate store)
trusts nothing more. Run gencerts again for new names.

key.pem is always mode 0600 and the certificates 0644, whatever the umask and even when
the files existed before with other modes: each file is written under a temporary name
and renamed over the old one (a symbolic link in its place is replaced, never followed).

Needs no root and runs no program, so it has no --dry-run: it changes nothing but
DIR. Run it as the user who runs the server (sudo npte netns run server -- ...).
Refuses (exit 2, nothing written): an invalid DNS name (RFC 1123 labels; no wildcard,
no trailing dot) or address (no zone, no prefix length), --days outside 1 to 3650.`
}

// Run implements the verb.
func (c *GencertsCmd) Run(app *App) error {
	cfg, err := certs.Parse(c.Directory, c.DNSName, c.IPAddr, c.Days)
	if err != nil {
		return Usage(err)
	}
	b, err := certs.Generate(cfg, time.Now(), nil)
	if err != nil {
		return fmt.Errorf("gencerts: %v", err)
	}
	if err := certs.Write(cfg.Dir, b); err != nil {
		return fmt.Errorf("gencerts: %v (nothing else was changed; files already renamed into %s stay)", err, cfg.Dir)
	}
	var out strings.Builder
	for _, f := range []struct {
		name string
		mode os.FileMode
		what string
	}{
		{certs.CAFile, certs.CertMode, "the CA: give it to clients (curl --cacert " + filepath.Join(cfg.Dir, certs.CAFile) + ")"},
		{certs.CertFile, certs.CertMode, "the server certificate"},
		{certs.KeyFile, certs.KeyMode, "the server's private key"},
	} {
		fmt.Fprintf(&out, "wrote %s (%04o): %s\n", filepath.Join(cfg.Dir, f.name), f.mode, f.what)
	}
	fmt.Fprintf(&out, "names: %s\n", strings.Join(cfg.Names(), " "))
	fmt.Fprintf(&out, "valid for %d days\n", cfg.Days)
	_, err = fmt.Fprint(app.Env.Stdout, out.String())
	return err
}
