package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/certs"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		dns, ips []string
		days     int
		bad      string // substring of the error, "" when valid
		names    string
	}{
		{nil, nil, 365, "", "localhost 127.0.0.1 ::1"},
		{[]string{"server"}, []string{"172.16.2.2"}, 365, "", "server 172.16.2.2"},
		{[]string{"server", "SERVER", "www.lab.example"}, []string{"172.16.2.2", "::ffff:172.16.2.2", "fd00::2"}, 1, "", "server www.lab.example 172.16.2.2 fd00::2"},
		{[]string{"-server"}, nil, 365, "hyphen", ""},
		{[]string{"server-"}, nil, 365, "hyphen", ""},
		{[]string{"*.lab"}, nil, 365, "letters, digits", ""},
		{[]string{"a..b"}, nil, 365, "labels", ""},
		{[]string{"server."}, nil, 365, "labels", ""},
		{[]string{""}, nil, 365, "empty", ""},
		{[]string{"a b"}, nil, 365, "letters", ""},
		{[]string{"a;rm -rf /"}, nil, 365, "letters", ""},
		{[]string{strings.Repeat("a", 64)}, nil, 365, "63", ""},
		{[]string{strings.Repeat("a.", 127) + "ab"}, nil, 365, "253", ""},
		{[]string{"10.0.0.1"}, nil, 365, "--ip-addr", ""},
		{nil, []string{"300.1.1.1"}, 365, "IPv4 or IPv6", ""},
		{nil, []string{"10.0.0.0/24"}, 365, "IPv4 or IPv6", ""},
		{nil, []string{"fe80::1%eth0"}, 365, "zone", ""},
		{nil, []string{"-1"}, 365, "IPv4 or IPv6", ""},
		{nil, nil, 0, "1 to 3650", ""},
		{nil, nil, 3651, "1 to 3650", ""},
		{nil, nil, -5, "1 to 3650", ""},
	} {
		c, err := certs.Parse("d", tc.dns, tc.ips, tc.days)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("Parse(%q, %q, %d): %v", tc.dns, tc.ips, tc.days, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("Parse(%q, %q, %d) = %v, want an error about %q", tc.dns, tc.ips, tc.days, err, tc.bad)
		case tc.bad == "" && strings.Join(c.Names(), " ") != tc.names:
			t.Errorf("Parse(%q, %q): names %q, want %q", tc.dns, tc.ips, c.Names(), tc.names)
		}
	}
	if _, err := certs.Parse("", nil, nil, 1); err == nil {
		t.Error("empty directory accepted")
	}
}

// TestGenerateVerifies: the server certificate verifies against ca.pem
// alone for every name and address, and for no other; keys are P-256;
// the validity is --days.
func TestGenerateVerifies(t *testing.T) {
	c, err := certs.Parse("d", []string{"server", "www.lab"}, []string{"172.16.2.2", "fd00::2"}, 30)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	b, err := certs.Generate(c, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		t.Fatalf("cert.pem and key.pem do not match: %v", err)
	}
	if k, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", pair.PrivateKey)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CA) {
		t.Fatal("ca.pem holds no certificate")
	}
	blk, _ := pem.Decode(b.Cert)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.NotAfter.Sub(now); got != 30*24*time.Hour {
		t.Errorf("valid for %v after now, want 30 days", got)
	}
	if leaf.IsCA || leaf.Subject.CommonName != "server" {
		t.Errorf("leaf: IsCA %v, CN %q", leaf.IsCA, leaf.Subject.CommonName)
	}
	for _, name := range []string{"server", "www.lab", "172.16.2.2", "fd00::2"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now}); err != nil {
			t.Errorf("does not verify for %s: %v", name, err)
		}
	}
	for _, name := range []string{"client", "172.16.3.2", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now}); err == nil {
			t.Errorf("verifies for %s, which it does not name", name)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "server", Roots: pool, CurrentTime: now.Add(31 * 24 * time.Hour)}); err == nil {
		t.Error("verifies after --days")
	}
	// The CA cannot sign anything further down (path length 0) and its key
	// is nowhere in the bundle.
	cb, _ := pem.Decode(b.CA)
	ca, _ := x509.ParseCertificate(cb.Bytes)
	if !ca.IsCA || !ca.MaxPathLenZero {
		t.Errorf("CA: IsCA %v MaxPathLenZero %v", ca.IsCA, ca.MaxPathLenZero)
	}
	if strings.Count(string(b.Key), "PRIVATE KEY-----") != 2 {
		t.Errorf("key.pem holds more than one key")
	}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// TestWriteModes is the regression test for the original's known bug: a
// key.pem that existed with mode 0644 stayed world-readable when
// overwritten. Here it is replaced by a 0600 file whatever was there (a
// wide mode, a symbolic link to another file) and whatever the umask.
// An implementation that writes through the existing file (os.WriteFile
// with 0600, the original's way) fails the first case: WriteFile keeps the
// old mode.
func TestWriteModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	c, _ := certs.Parse("d", []string{"server"}, nil, 1)
	b, err := certs.Generate(c, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(dir string) string // returns a file that must stay untouched, or ""
	}{
		{"fresh", func(string) string { return "" }},
		{"world-readable key", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "key.pem"), []byte("old"), 0o666)
			os.Chmod(filepath.Join(dir, "key.pem"), 0o666)
			os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("old"), 0o600)
			return ""
		}},
		{"symlinked key", func(dir string) string {
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("victim"), 0o644)
			os.Symlink(victim, filepath.Join(dir, "key.pem"))
			return victim
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			os.Mkdir(dir, 0o755)
			victim := tc.setup(dir)
			if err := certs.Write(dir, b); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, filepath.Join(dir, "key.pem")); m != 0o600 {
				t.Errorf("key.pem mode %v, want -rw-------", m)
			}
			for _, f := range []string{"ca.pem", "cert.pem"} {
				if m := mode(t, filepath.Join(dir, f)); m != 0o644 {
					t.Errorf("%s mode %v, want -rw-r--r--", f, m)
				}
			}
			if victim != "" {
				if data, _ := os.ReadFile(victim); string(data) != "victim" {
					t.Errorf("wrote through the symbolic link into %s", victim)
				}
			}
			got, _ := os.ReadFile(filepath.Join(dir, "key.pem"))
			if string(got) != string(b.Key) {
				t.Error("key.pem does not hold the key")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 3 {
				t.Errorf("left temporary files: %v", entries)
			}
		})
	}
	// A missing directory is made 0700.
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := certs.Write(dir, b); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m.Perm() != 0o700 {
		t.Errorf("new directory mode %v, want 0700", m)
	}
}

// FuzzValidators: what DNSName and IPAddr accept is safe to print and to
// hand to any tool: no byte outside [A-Za-z0-9.-:], no leading "-".
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"server", "a.b", "-x", "172.16.2.2", "fd00::2", "fe80::1%eth0", "a b", "x\n", "*.lab", "../etc", "$(id)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		safe := func(v string) bool {
			if v == "" || v[0] == '-' {
				return false
			}
			for i := 0; i < len(v); i++ {
				c := v[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
					return false
				}
			}
			return true
		}
		if certs.DNSName(s) == nil && (!safe(s) || len(s) > 253) {
			t.Errorf("DNSName accepted %q", s)
		}
		if a, err := certs.IPAddr(s); err == nil && (!safe(a.String()) || a.Zone() != "") {
			t.Errorf("IPAddr accepted %q as %q", s, a)
		}
	})
}
