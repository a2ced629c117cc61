// Package certs makes the certificates of a lab's HTTPS servers: a
// throwaway certificate authority and one server certificate it signs,
// with a subject alternative name for every DNS name and address the
// server answers on, so that a client in another namespace can verify the
// server with nothing but ca.pem (curl --cacert ca.pem).
//
// Keys are ECDSA P-256 from crypto/ecdsa and crypto/rand; certificates come
// from crypto/x509. No program runs and no root is needed. The CA's private
// key is never written: once the server certificate is signed it is
// dropped, so ca.pem can vouch for this one certificate and no other.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/npte/npte/validate"
)

// The files Write makes in the directory, and their modes.
const (
	CAFile   = "ca.pem"   // the CA certificate (what clients trust)
	CertFile = "cert.pem" // the server certificate
	KeyFile  = "key.pem"  // the server's private key, mode 0600
	CertMode = 0o644
	KeyMode  = 0o600
	DirMode  = 0o700
)

// Validity bounds of --days.
const (
	DefaultDays = 365
	MaxDays     = 3650
)

// Config is a validated request: where to write, which names and
// addresses the server certificate covers, for how long.
type Config struct {
	Dir      string
	DNSNames []string
	IPs      []netip.Addr
	Days     int
}

// Names returns the certificate's subject alternative names as given:
// DNS names first, then addresses.
func (c Config) Names() []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPs {
		out = append(out, ip.String())
	}
	return out
}

// DNSName checks a DNS name for a certificate: 1..253 bytes of labels
// separated by dots, each 1..63 letters, digits or hyphens, not starting
// or ending with a hyphen (RFC 1123); no trailing dot, no wildcard, and
// not an IP address (give those with --ip-addr).
func DNSName(s string) error {
	const kind = "DNS name"
	switch {
	case s == "":
		return &validate.Error{Kind: kind, Value: s, Rule: "must not be empty"}
	case len(s) > 253:
		return &validate.Error{Kind: kind, Value: s, Rule: "must be at most 253 bytes"}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return &validate.Error{Kind: kind, Value: s, Rule: "is an IP address: give it with --ip-addr"}
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return &validate.Error{Kind: kind, Value: s, Rule: "must be dot-separated labels of 1 to 63 characters (no empty label, no trailing dot)"}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return &validate.Error{Kind: kind, Value: s, Rule: "labels must not start or end with a hyphen"}
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return &validate.Error{Kind: kind, Value: s, Rule: "may contain only letters, digits, hyphens and dots"}
			}
		}
	}
	return nil
}

// IPAddr checks an address for a certificate: IPv4 or IPv6, no zone, no
// prefix length.
func IPAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, &validate.Error{Kind: "IP address", Value: s, Rule: "must be an IPv4 or IPv6 address such as 172.16.2.2 or fd00::2 (no prefix length)"}
	}
	if a.Zone() != "" {
		return netip.Addr{}, &validate.Error{Kind: "IP address", Value: s, Rule: "must not carry a zone (%...)"}
	}
	return a.Unmap(), nil
}

// Days checks a validity in days: 1..MaxDays.
func Days(n int) error {
	if n < 1 || n > MaxDays {
		return &validate.Error{Kind: "validity", Value: fmt.Sprint(n), Rule: fmt.Sprintf("--days must be 1 to %d", MaxDays)}
	}
	return nil
}

// Parse validates the command line's values into a Config. With neither
// names nor addresses, the certificate covers localhost, 127.0.0.1 and
// ::1. Duplicates are dropped.
func Parse(dir string, dnsNames, ips []string, days int) (Config, error) {
	if dir == "" {
		return Config{}, &validate.Error{Kind: "directory", Value: dir, Rule: "must not be empty"}
	}
	if strings.IndexByte(dir, 0) >= 0 {
		return Config{}, &validate.Error{Kind: "directory", Value: dir, Rule: "must not contain a NUL byte"}
	}
	if err := Days(days); err != nil {
		return Config{}, err
	}
	c := Config{Dir: dir, Days: days}
	seen := map[string]bool{}
	for _, n := range dnsNames {
		if err := DNSName(n); err != nil {
			return Config{}, err
		}
		if k := strings.ToLower(n); !seen[k] {
			seen[k] = true
			c.DNSNames = append(c.DNSNames, n)
		}
	}
	for _, s := range ips {
		a, err := IPAddr(s)
		if err != nil {
			return Config{}, err
		}
		if k := a.String(); !seen[k] {
			seen[k] = true
			c.IPs = append(c.IPs, a)
		}
	}
	if len(c.DNSNames) == 0 && len(c.IPs) == 0 {
		c.DNSNames = []string{"localhost"}
		c.IPs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	return c, nil
}

// Bundle is what Generate makes: PEM bytes of the three files.
type Bundle struct {
	CA, Cert, Key []byte
	// NotAfter is when both certificates expire.
	NotAfter time.Time
	// Fingerprint is the SHA-256 of the server certificate (DER), in hex.
	Fingerprint string
}

// Generate makes the CA and the server certificate for c, valid from an
// hour before now (clock skew between namespaces is nil, between hosts
// it is not) to now plus c.Days. rnd is the randomness (crypto/rand.Reader
// in npte).
func Generate(c Config, now time.Time, rnd io.Reader) (Bundle, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	notBefore := now.Add(-time.Hour).UTC().Truncate(time.Second)
	notAfter := now.Add(time.Duration(c.Days) * 24 * time.Hour).UTC().Truncate(time.Second)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return Bundle{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return Bundle{}, err
	}
	cn := c.Names()[0]
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(rnd),
		Subject:               pkix.Name{Organization: []string{"npte"}, CommonName: "npte lab CA for " + cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rnd, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Bundle{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Bundle{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          serial(rnd),
		Subject:               pkix.Name{Organization: []string{"npte"}, CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              c.DNSNames,
	}
	for _, ip := range c.IPs {
		leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	leafDER, err := x509.CreateCertificate(rnd, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return Bundle{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return Bundle{}, err
	}
	sum := sha256.Sum256(leafDER)
	return Bundle{
		CA:          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert:        pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		Key:         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		NotAfter:    notAfter,
		Fingerprint: hex.EncodeToString(sum[:]),
	}, nil
}

// serial is a random 127-bit positive serial number.
func serial(rnd io.Reader) *big.Int {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		panic(err) // crypto/rand does not fail
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// Write puts b's three files into dir (created with mode 0700 when
// missing). Each file is written to a new temporary file in dir, given its
// mode explicitly (whatever the umask), synced and renamed over the old
// one: a key that already existed with a wider mode, or a symbolic link
// in its place, is replaced, never written through. The key is 0600, the
// certificates 0644.
func Write(dir string, b Bundle) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{KeyFile, b.Key, KeyMode}, {CAFile, b.CA, CertMode}, {CertFile, b.Cert, CertMode}} {
		if err := replace(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// replace atomically replaces path by a regular file holding data with
// exactly mode.
func replace(path string, data []byte, mode os.FileMode) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	// A new file (O_EXCL, never through a symbolic link), 0600 from the
	// start, so the key is never readable by others, not even for an
	// instant.
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		return err
	}
	name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(suffix))
	tmp, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		done = true
		return err
	}
	done = true
	return nil
}
