// Package validate holds the input validators of npte.
//
// Every value that reaches an argv of a privileged command passes one of
// these functions first (or is a literal in the code). Each validator checks
// the whole value against one rule and returns an *Error that names the value
// (quoted, so that control characters are visible) and the rule it broke.
package validate

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a validation failure: the offending value, what kind of value it
// was meant to be, and the rule it broke. Its message is one line.
type Error struct {
	Kind  string // e.g. "namespace name"
	Value string // the rejected input
	Rule  string // the rule, phrased as what a valid value is or must not be
}

// Error implements error as `invalid KIND "VALUE": RULE`, with VALUE
// quoted by strconv.Quote so that newlines or NULs stay on one line.
func (e *Error) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "..."
	}
	return fmt.Sprintf("invalid %s %s: %s", e.Kind, strconv.Quote(v), e.Rule)
}

func fail(kind, value, rule string) error {
	return &Error{Kind: kind, Value: value, Rule: rule}
}

// MaxNetnsName is the longest namespace name: IFNAMSIZ leaves 15 usable
// bytes for an interface name, and npte names links "if-NAME".
const MaxNetnsName = 12

// NetnsName checks a namespace name: a lowercase ASCII letter, then
// lowercase letters and digits, 1..12 bytes in all, so that "if-NAME" fits
// in an interface name.
func NetnsName(s string) error {
	const kind = "namespace name"
	switch {
	case s == "":
		return fail(kind, s, "must not be empty")
	case len(s) > MaxNetnsName:
		return fail(kind, s, fmt.Sprintf("must be at most %d characters (so that if-NAME fits in 15 bytes)", MaxNetnsName))
	case s[0] < 'a' || s[0] > 'z':
		return fail(kind, s, "must start with a lowercase letter a-z")
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fail(kind, s, "may contain only lowercase letters a-z and digits 0-9")
		}
	}
	return nil
}

// IfaceName checks a network interface name the way the kernel's
// dev_valid_name does, and stricter: 1..15 bytes, not "." or "..", no "/",
// ":", whitespace or NUL, no leading "-" (tools would read it as an option).
//
// npte also refuses "#" and every other byte outside printable ASCII: the
// kernel accepts them, but "#" starts a comment in sh, and a name that needs
// quoting in a reviewed script is a trap for whoever copies it by hand.
// Letters, digits and "-", "_", ".", "@", "+" are accepted.
func IfaceName(s string) error {
	const kind = "interface name"
	switch {
	case s == "":
		return fail(kind, s, "must not be empty")
	case len(s) > 15:
		return fail(kind, s, "must be at most 15 bytes (IFNAMSIZ)")
	case s == "." || s == "..":
		return fail(kind, s, `must not be "." or ".."`)
	case s[0] == '-':
		return fail(kind, s, `must not start with "-"`)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '@' || c == '+':
		default:
			return fail(kind, s, `may contain only ASCII letters, digits and "-_.@+" (no "/", ":", "#", spaces or control characters)`)
		}
	}
	return nil
}

// IPAddr checks a bare IPv4 or IPv6 address without a prefix length and
// without an IPv6 zone, and returns it parsed.
func IPAddr(s string) (netip.Addr, error) {
	const kind = "IP address"
	if strings.Contains(s, "%") {
		return netip.Addr{}, fail(kind, s, "must not carry an IPv6 zone (%...)")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fail(kind, s, "must be an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1")
	}
	if a.Is4In6() {
		return netip.Addr{}, fail(kind, s, "must not be an IPv4-mapped IPv6 address; write the IPv4 form")
	}
	return a, nil
}

// CIDR checks an address with a prefix length, IPv4 (/0../32) or IPv6
// (/0../128), without a zone. Host bits are allowed: "10.0.0.2/24" is an
// interface address in 10.0.0.0/24. Use Subnet when host bits must be zero.
func CIDR(s string) (netip.Prefix, error) {
	const kind = "CIDR"
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fail(kind, s, "must not carry an IPv6 zone (%...)")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fail(kind, s, "must be ADDRESS/LENGTH like 10.0.0.1/24 or 2001:db8::1/64 (length at most 32 for IPv4, 128 for IPv6)")
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fail(kind, s, "must not be an IPv4-mapped IPv6 address; write the IPv4 form")
	}
	return p, nil
}

// Subnet checks a network prefix whose host bits are all zero, such as
// "10.0.0.0/24", as used for routes and gateway subnets.
func Subnet(s string) (netip.Prefix, error) {
	p, err := CIDR(s)
	if err != nil {
		return p, err
	}
	if p.Masked() != p {
		return netip.Prefix{}, fail("subnet", s, fmt.Sprintf("must have no host bits set (did you mean %s?)", p.Masked()))
	}
	return p, nil
}

// MaxUsername is the longest user name accepted (useradd's default limit).
const MaxUsername = 32

// Username checks a login name in the portable form useradd accepts by
// default: a lowercase letter or "_", then lowercase letters, digits, "_"
// or "-", at most 32 bytes.
func Username(s string) error {
	const kind = "user name"
	switch {
	case s == "":
		return fail(kind, s, "must not be empty")
	case len(s) > MaxUsername:
		return fail(kind, s, fmt.Sprintf("must be at most %d characters", MaxUsername))
	case !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '_'):
		return fail(kind, s, `must start with a lowercase letter or "_"`)
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fail(kind, s, `may contain only lowercase letters, digits, "_" and "-"`)
		}
	}
	return nil
}

// EnvVarName checks an environment variable name: an ASCII letter or "_",
// then letters, digits or "_", at most 128 bytes. It can never start with
// "-", so env(1) cannot read it as an option.
func EnvVarName(s string) error {
	const kind = "environment variable name"
	switch {
	case s == "":
		return fail(kind, s, "must not be empty")
	case len(s) > 128:
		return fail(kind, s, "must be at most 128 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return fail(kind, s, `must be a letter or "_" followed by letters, digits or "_"`)
		}
	}
	return nil
}

// EnvAssignment checks a KEY=VALUE pair for a child's environment and
// splits it at the first "=". KEY must pass EnvVarName; VALUE may be
// anything but NUL (the kernel cannot carry it) and may itself contain "=".
func EnvAssignment(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fail("environment assignment", s, "must have the form KEY=VALUE")
	}
	if err := EnvVarName(k); err != nil {
		return "", "", err
	}
	if strings.IndexByte(v, 0) >= 0 {
		return "", "", fail("environment assignment", s, "value must not contain a NUL byte")
	}
	return k, v, nil
}

// AbsPath checks an absolute, clean path with no NUL and no control
// characters, valid UTF-8, such as a working directory handed to bwrap.
func AbsPath(s string) error {
	const kind = "path"
	if !strings.HasPrefix(s, "/") {
		return fail(kind, s, `must be absolute (start with "/")`)
	}
	if !utf8.ValidString(s) {
		return fail(kind, s, "must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fail(kind, s, "must not contain control characters")
		}
	}
	for _, part := range strings.Split(s[1:], "/") {
		if part == "." || part == ".." || (part == "" && s != "/") {
			return fail(kind, s, `must be clean (no "//", "." or ".." parts, no trailing "/")`)
		}
	}
	return nil
}

// SudoersPath checks a path that a sudoers rule names: AbsPath, and made
// only of ASCII letters, digits and "/._+-", characters sudoers never
// reads specially.
func SudoersPath(s string) error {
	if err := AbsPath(s); err != nil {
		return err
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+-", r)
		if !ok {
			return fail("path", s, `may contain only ASCII letters, digits and "/._+-" (sudoers reads spaces, ",", ":", "=", "\", "*" and others specially)`)
		}
	}
	return nil
}
