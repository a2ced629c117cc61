package validate_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/npte/npte/validate"
)

// tcase is one input of a validator table: the value, whether it is valid,
// and (for an invalid one) a fragment the rule in the message must contain.
type tcase struct {
	in   string
	ok   bool
	rule string
}

// checkTable runs one validator over a table. Every error must be a
// *validate.Error naming the value (quoted) and the rule, on one line.
func checkTable(t *testing.T, kind string, fn func(string) error, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(strconv.Quote(c.in), func(t *testing.T) {
			err := fn(c.in)
			if c.ok {
				if err != nil {
					t.Fatalf("%s(%q) = %v, want nil", kind, c.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s(%q) = nil, want an error about %q", kind, c.in, c.rule)
			}
			checkError(t, err, c.in, c.rule)
		})
	}
}

func checkError(t *testing.T, err error, value, rule string) {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *validate.Error", err, err)
	}
	msg := err.Error()
	quoted := value
	if len(quoted) > 80 {
		quoted = quoted[:80] + "..."
	}
	if !strings.Contains(msg, strconv.Quote(quoted)) {
		t.Errorf("message %q does not name the value %s", msg, strconv.Quote(quoted))
	}
	if rule != "" && !strings.Contains(ve.Rule, rule) {
		t.Errorf("rule %q does not contain %q", ve.Rule, rule)
	}
	if !strings.Contains(msg, ve.Rule) || ve.Rule == "" {
		t.Errorf("message %q does not state the rule %q", msg, ve.Rule)
	}
	if strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("message %q is not one clean line", msg)
	}
}

func TestNetnsName(t *testing.T) {
	checkTable(t, "NetnsName", validate.NetnsName, []tcase{
		{"a", true, ""},
		{"demo", true, ""},
		{"lab1", true, ""},
		{"a1b2c3", true, ""},
		{"abcdefghijkl", true, ""}, // longest valid: 12
		{"abcdefghijklm", false, "at most 12"},
		{"", false, "empty"},
		{"Bad", false, "lowercase letter"},
		{"bAd", false, "only lowercase"},
		{"1x", false, "lowercase letter"},
		{"a;b", false, "only lowercase"},
		{"a$(id)", false, "only lowercase"},
		{"a`id`", false, "only lowercase"},
		{"a#b", false, "only lowercase"},
		{"a b", false, "only lowercase"},
		{"a-b", false, "only lowercase"},
		{"a_b", false, "only lowercase"},
		{"a.b", false, "only lowercase"},
		{"-h", false, "lowercase letter"},
		{"--help", false, "lowercase letter"},
		{"../x", false, "lowercase letter"},
		{"x/..", false, "only lowercase"},
		{"a/b", false, "only lowercase"},
		{".", false, "lowercase letter"},
		{"é", false, "lowercase letter"},
		{"aé", false, "only lowercase"},
		{"ａ", false, "lowercase letter"}, // fullwidth a
		{"a\x00", false, "only lowercase"},
		{"a\n", false, "only lowercase"},
		{"a\nb", false, "only lowercase"},
		{"\xff", false, "lowercase letter"},
		{strings.Repeat("a", 200), false, "at most 12"},
	})
}

// TestNetnsNameFitsIfname pins the reason for the 12-byte limit.
func TestNetnsNameFitsIfname(t *testing.T) {
	long := strings.Repeat("a", validate.MaxNetnsName)
	if err := validate.IfaceName("if-" + long); err != nil {
		t.Errorf("if-%s is not a valid interface name: %v", long, err)
	}
}

func TestIfaceName(t *testing.T) {
	checkTable(t, "IfaceName", validate.IfaceName, []tcase{
		{"eth0", true, ""},
		{"lo", true, ""},
		{"a", true, ""},
		{"veth-a_b.1@x+", true, ""},
		{"if-abcdefghijkl", true, ""}, // longest valid: 15
		{"Eth0", true, ""},
		{"a..b", true, ""},
		{"abcdefghijklmnop", false, "at most 15"},
		{"", false, "empty"},
		{".", false, `"." or ".."`},
		{"..", false, `"." or ".."`},
		{"../x", false, "only ASCII"},
		{"a/b", false, "only ASCII"},
		{"eth0:1", false, "only ASCII"},
		{"-h", false, `start with "-"`},
		{"-", false, `start with "-"`},
		{"a;b", false, "only ASCII"},
		{"a#b", false, "only ASCII"},
		{"#", false, "only ASCII"},
		{"a$b", false, "only ASCII"},
		{"a`b", false, "only ASCII"},
		{"a'b", false, "only ASCII"},
		{"a b", false, "only ASCII"},
		{"a\tb", false, "only ASCII"},
		{"a\nb", false, "only ASCII"},
		{"a\x00b", false, "only ASCII"},
		{"a\x7f", false, "only ASCII"},
		{"é", false, "only ASCII"},
		{"\xff", false, "only ASCII"},
		{"a*", false, "only ASCII"},
	})
}

func TestIPAddr(t *testing.T) {
	fn := func(s string) error { _, err := validate.IPAddr(s); return err }
	checkTable(t, "IPAddr", fn, []tcase{
		{"192.0.2.1", true, ""},
		{"0.0.0.0", true, ""},
		{"255.255.255.255", true, ""},
		{"2001:db8::1", true, ""},
		{"::1", true, ""},
		{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", true, ""}, // longest text form
		{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555", false, "IPv4 address like"},
		{"256.0.0.1", false, "IPv4 address like"},
		{"", false, "IPv4 address like"},
		{"fe80::1%eth0", false, "zone"},
		{"fe80::1%", false, "zone"},
		{"::ffff:192.0.2.1", false, "IPv4-mapped"},
		{"192.0.2.1/24", false, "IPv4 address like"},
		{"01.2.3.4", false, "IPv4 address like"},
		{" 192.0.2.1", false, "IPv4 address like"},
		{"192.0.2.1\n", false, "IPv4 address like"},
		{"192.0.2.1\x00", false, "IPv4 address like"},
		{"192.0.2.1;id", false, "IPv4 address like"},
		{"$(id)", false, "IPv4 address like"},
		{"-1.2.3.4", false, "IPv4 address like"},
		{"../1.2.3.4", false, "IPv4 address like"},
		{"١.٢.٣.٤", false, "IPv4 address like"}, // Arabic-Indic digits
		{"localhost", false, "IPv4 address like"},
	})
	if a, err := validate.IPAddr("2001:DB8:0::1"); err != nil || a.String() != "2001:db8::1" {
		t.Errorf("IPAddr(2001:DB8:0::1) = %v, %v; want the canonical 2001:db8::1", a, err)
	}
}

func TestCIDR(t *testing.T) {
	fn := func(s string) error { _, err := validate.CIDR(s); return err }
	checkTable(t, "CIDR", fn, []tcase{
		{"10.0.0.1/24", true, ""},
		{"10.0.0.0/24", true, ""},
		{"0.0.0.0/0", true, ""},
		{"192.0.2.1/32", true, ""},
		{"2001:db8::1/64", true, ""},
		{"::/0", true, ""},
		{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", true, ""}, // longest
		{"192.0.2.1/33", false, "ADDRESS/LENGTH"},
		{"2001:db8::1/129", false, "ADDRESS/LENGTH"},
		{"10.0.0.1", false, "ADDRESS/LENGTH"},
		{"", false, "ADDRESS/LENGTH"},
		{"10.0.0.1/-1", false, "ADDRESS/LENGTH"},
		{"-10.0.0.1/24", false, "ADDRESS/LENGTH"},
		{"10.0.0.1/ 24", false, "ADDRESS/LENGTH"},
		{"10.0.0.1/24;id", false, "ADDRESS/LENGTH"},
		{"10.0.0.1/24\n", false, "ADDRESS/LENGTH"},
		{"10.0.0.1/24\x00", false, "ADDRESS/LENGTH"},
		{"../10.0.0.1/24", false, "ADDRESS/LENGTH"},
		{"fe80::1%eth0/64", false, "zone"},
		{"::ffff:10.0.0.1/120", false, "IPv4-mapped"},
		{"１0.0.0.1/24", false, "ADDRESS/LENGTH"},
	})
}

func TestSubnet(t *testing.T) {
	fn := func(s string) error { _, err := validate.Subnet(s); return err }
	checkTable(t, "Subnet", fn, []tcase{
		{"10.0.0.0/24", true, ""},
		{"0.0.0.0/0", true, ""},
		{"2001:db8::/32", true, ""},
		{"10.0.0.1/24", false, "did you mean 10.0.0.0/24"},
		{"2001:db8::1/64", false, "did you mean 2001:db8::/64"},
		{"10.0.0.0", false, "ADDRESS/LENGTH"},
		{"", false, "ADDRESS/LENGTH"},
		{"10.0.0.0/24\n", false, "ADDRESS/LENGTH"},
	})
}

func TestUsername(t *testing.T) {
	checkTable(t, "Username", validate.Username, []tcase{
		{"a", true, ""},
		{"alice", true, ""},
		{"_svc", true, ""},
		{"ci-runner_2", true, ""},
		{strings.Repeat("a", 32), true, ""},
		{strings.Repeat("a", 33), false, "at most 32"},
		{"", false, "empty"},
		{"Alice", false, "start with"},
		{"1alice", false, "start with"},
		{"-h", false, "start with"},
		{"a;b", false, "only lowercase"},
		{"a b", false, "only lowercase"},
		{"a$(id)", false, "only lowercase"},
		{"../x", false, "start with"},
		{"a/b", false, "only lowercase"},
		{"a.b", false, "only lowercase"},
		{"é", false, "start with"},
		{"aé", false, "only lowercase"},
		{"a\x00", false, "only lowercase"},
		{"a\n", false, "only lowercase"},
		{"root$", false, "only lowercase"},
	})
}

func TestEnvVarName(t *testing.T) {
	checkTable(t, "EnvVarName", validate.EnvVarName, []tcase{
		{"A", true, ""},
		{"_", true, ""},
		{"http_proxy", true, ""},
		{"A1_B2", true, ""},
		{strings.Repeat("A", 128), true, ""},
		{strings.Repeat("A", 129), false, "at most 128"},
		{"", false, "empty"},
		{"1A", false, "letter"},
		{"-A", false, "letter"},
		{"A-B", false, "letter"},
		{"A=B", false, "letter"},
		{"A;B", false, "letter"},
		{"A B", false, "letter"},
		{"$A", false, "letter"},
		{"../A", false, "letter"},
		{"É", false, "letter"},
		{"A\x00", false, "letter"},
		{"A\n", false, "letter"},
	})
}

func TestEnvAssignment(t *testing.T) {
	for _, c := range []struct {
		in, key, value string
	}{
		{"A=b", "A", "b"},
		{"A=", "A", ""},
		{"A==b", "A", "=b"},
		{"LANG=C.UTF-8", "LANG", "C.UTF-8"},
		{"X=$(id);`id` #'\"", "X", "$(id);`id` #'\""},
		{"X=a\nb", "X", "a\nb"},
		{"X=é", "X", "é"},
	} {
		k, v, err := validate.EnvAssignment(c.in)
		if err != nil || k != c.key || v != c.value {
			t.Errorf("EnvAssignment(%q) = %q, %q, %v; want %q, %q", c.in, k, v, err, c.key, c.value)
		}
	}
	for _, c := range []struct{ in, named, rule string }{
		{"A", "A", "KEY=VALUE"},
		{"", "", "KEY=VALUE"},
		{"=b", "", "empty"},
		{"1A=b", "1A", "letter"},
		{"-A=b", "-A", "letter"},
		{"A B=c", "A B", "letter"},
		{"A=b\x00c", "A=b\x00c", "NUL"},
	} {
		_, _, err := validate.EnvAssignment(c.in)
		if err == nil {
			t.Errorf("EnvAssignment(%q) = nil error", c.in)
			continue
		}
		checkError(t, err, c.named, c.rule)
	}
}

func TestAbsPath(t *testing.T) {
	checkTable(t, "AbsPath", validate.AbsPath, []tcase{
		{"/", true, ""},
		{"/home/alice", true, ""},
		{"/tmp/a b", true, ""},
		{"/tmp/é", true, ""},
		{"/tmp/-x", true, ""},
		{"/tmp/...", true, ""},
		{"/" + strings.Repeat("a", 4000), true, ""},
		{"", false, "absolute"},
		{"home", false, "absolute"},
		{"-h", false, "absolute"},
		{"../x", false, "absolute"},
		{"/../etc", false, "clean"},
		{"/a/../b", false, "clean"},
		{"/a/./b", false, "clean"},
		{"/a//b", false, "clean"},
		{"/a/", false, "clean"},
		{"//", false, "clean"},
		{"/a\nb", false, "control"},
		{"/a\tb", false, "control"},
		{"/a\x00b", false, "control"},
		{"/a\x7f", false, "control"},
		{"/\xff", false, "UTF-8"},
		{"/a;$(id)", true, ""}, // a legal file name; quoting is render's job
	})
}

// TestErrorTruncates checks that a huge value does not flood the terminal.
func TestErrorTruncates(t *testing.T) {
	err := validate.NetnsName(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a 10000-byte name is %d bytes: %v", len(err.Error()), err)
	}
}
