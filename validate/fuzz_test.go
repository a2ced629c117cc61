package validate_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/npte/npte/shell"
	"github.com/npte/npte/validate"
)

// fuzzSeeds are shared seeds for every validator's fuzz target: valid
// values of each kind, their boundaries, and hostile values. `go test`
// runs them as plain tests; `go test -fuzz=FuzzX ./validate` explores.
var fuzzSeeds = []string{
	"", "a", "demo", "abcdefghijkl", "abcdefghijklm", "Bad", "1x", "a;b", "../x", "-h", "a\x00b", "a\nb",
	"if-router", "eth0", "eth0:1", "abcdefghijklmno", "abcdefghijklmnop", ".", "..", "-x", "a#b", "a@b", "a+b",
	"10.0.0.1", "10.0.0.1/24", "10.0.0.0/24", "2001:db8::1", "2001:db8::/64", "fe80::1%eth0", "::ffff:1.2.3.4",
	"256.1.1.1", "1.2.3.4/33", "::/129", "01.2.3.4", "0.0.0.0/0", "::/0",
	"_user", "user-1", "root", strings.Repeat("u", 33),
	"A=B", "A=B=C", "1X=y", "-x=y", "PATH=/usr/bin", "K=\x00", "=v",
	"/", "/tmp", "/a/../b", "//", "/a/", "/a\x01", "/\xff", "relative",
	"\u0430", "\uff41", "\u200b", "\u202eab", "$(id)", "`id`", "'", "\"", " ", "\t",
}

// checkErr verifies that a validator's error is a *validate.Error whose
// message is one printable line naming the value.
func checkErr(t *testing.T, s string, err error) {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("%q: error %T %v is not a *validate.Error", s, err, err)
	}
	msg := err.Error()
	if ve.Value != s && !strings.HasPrefix(s, ve.Value) {
		t.Fatalf("%q: error names another value %q", s, ve.Value)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("%q: message is not valid UTF-8: %q", s, msg)
	}
	for _, r := range msg {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("%q: message carries control character %U: %q", s, r, msg)
		}
	}
	if !strings.HasPrefix(msg, "invalid ") || ve.Rule == "" {
		t.Fatalf("%q: message does not say what is invalid and why: %q", s, msg)
	}
}

func seed(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
}

// plainWord checks that s needs no quoting in a script: it renders as
// itself, or single-quoted as itself when it is a shell reserved word
// ("if", "done"...), which syntax.Quote quotes although an argument is
// never read as a keyword.
func plainWord(t *testing.T, s string) {
	t.Helper()
	if q, err := shell.Word(s); err != nil || q != s && q != "'"+s+"'" {
		t.Fatalf("%q is valid but needs quoting in sh: %q %v", s, q, err)
	}
}

var netnsRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

func FuzzNetnsName(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.NetnsName(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if !netnsRE.MatchString(s) {
			t.Fatalf("accepted %q", s)
		}
		plainWord(t, s)
		if validate.IfaceName("if-"+s) != nil {
			t.Fatalf("accepted %q but if-%s is no interface name", s, s)
		}
	})
}

func FuzzIfaceName(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.IfaceName(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if len(s) == 0 || len(s) > 15 || s == "." || s == ".." || s[0] == '-' ||
			strings.ContainsAny(s, "/:# \t\n\r\x00\\'\"$`;|&<>()*?[]{}~!=%,") {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("accepted %q with byte %#x", s, s[i])
			}
		}
		plainWord(t, s)
	})
}

func FuzzIPAddr(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := validate.IPAddr(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if strings.Contains(s, "%") || a.Zone() != "" || a.Is4In6() || !a.IsValid() {
			t.Fatalf("accepted %q as %v", s, a)
		}
		b, err := validate.IPAddr(a.String())
		if err != nil || b != a {
			t.Fatalf("%q: its canonical form %q does not validate back: %v", s, a, err)
		}
		plainWord(t, a.String())
		if strings.HasPrefix(a.String(), "-") {
			t.Fatalf("%q renders with a leading -", s)
		}
	})
}

func FuzzCIDR(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := validate.CIDR(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if strings.Contains(s, "%") || !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() || p.Bits() > p.Addr().BitLen() {
			t.Fatalf("accepted %q as %v", s, p)
		}
		q, err := validate.CIDR(p.String())
		if err != nil || q != p {
			t.Fatalf("%q: canonical %q does not validate back: %v", s, p, err)
		}
		plainWord(t, p.String())
	})
}

func FuzzSubnet(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := validate.Subnet(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if p.Masked() != p {
			t.Fatalf("accepted %q with host bits", s)
		}
		if _, err := validate.CIDR(s); err != nil {
			t.Fatalf("Subnet accepts %q, CIDR refuses it: %v", s, err)
		}
		var _ netip.Prefix = p
	})
}

var userRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

func FuzzUsername(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.Username(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if !userRE.MatchString(s) {
			t.Fatalf("accepted %q", s)
		}
		plainWord(t, s)
	})
}

var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func FuzzEnvVarName(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.EnvVarName(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if !envRE.MatchString(s) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzEnvAssignment(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := validate.EnvAssignment(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if k+"="+v != s || validate.EnvVarName(k) != nil || strings.IndexByte(v, 0) >= 0 {
			t.Fatalf("accepted %q as %q=%q", s, k, v)
		}
		// Whatever the value, the word renders and never reads as an option.
		if _, err := shell.Word(s); err != nil {
			t.Fatalf("accepted %q, which cannot be rendered: %v", s, err)
		}
		if strings.HasPrefix(s, "-") {
			t.Fatalf("accepted %q, which env(1) would read as an option", s)
		}
	})
}

func FuzzAbsPath(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.AbsPath(s)
		if err != nil {
			checkErr(t, s, err)
			return
		}
		if !filepath.IsAbs(s) || filepath.Clean(s) != s || !utf8.ValidString(s) || strings.Contains(s, "/../") || strings.HasSuffix(s, "/..") {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				t.Fatalf("accepted %q with control character %U", s, r)
			}
		}
		if _, err := shell.Word(s); err != nil {
			t.Fatalf("accepted %q, which cannot be rendered: %v", s, err)
		}
	})
}
