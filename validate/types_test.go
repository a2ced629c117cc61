package validate_test

import (
	"encoding"
	"errors"
	"testing"

	"github.com/npte/npte/validate"
)

// TestTypedValues: each typed value accepts what its validator accepts,
// keeps it, and refuses the rest with the validator's *Error, so that
// kong's refusal names the value and the rule as the verbs used to.
func TestTypedValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    interface {
			encoding.TextUnmarshaler
		}
		in   string
		ok   bool
		want string // String() of a kept value, when it has one
	}{
		{"netns ok", new(validate.Netns), "client", true, ""},
		{"netns upper", new(validate.Netns), "Client", false, ""},
		{"iface ok", new(validate.Iface), "if-router", true, ""},
		{"iface colon", new(validate.Iface), "if:x", false, ""},
		{"addr ok", new(validate.Addr), "fd00::1", true, "fd00::1"},
		{"addr prefix", new(validate.Addr), "10.0.0.1/24", false, ""},
		{"iface addr ok", new(validate.IfaceAddr), "10.0.0.2/24", true, "10.0.0.2/24"},
		{"iface addr zone", new(validate.IfaceAddr), "fe80::1%eth0/64", false, ""},
		{"net ok", new(validate.Net), "10.0.0.0/24", true, "10.0.0.0/24"},
		{"net host bits", new(validate.Net), "10.0.0.1/24", false, ""},
		{"dest default", new(validate.RouteDest), "default", true, "default"},
		{"dest net", new(validate.RouteDest), "fd00:2::/64", true, "fd00:2::/64"},
		{"dest host bits", new(validate.RouteDest), "10.0.2.1/24", false, ""},
		{"user ok", new(validate.User), "alice", true, ""},
		{"user upper", new(validate.User), "Alice", false, ""},
		{"assignment ok", new(validate.Assignment), "A=b=c", true, ""},
		{"assignment no =", new(validate.Assignment), "AB", false, ""},
		{"program ok", new(validate.Program), "/usr/local/sbin/npte", true, ""},
		{"program comma", new(validate.Program), "/a,b", false, ""},
		{"program relative", new(validate.Program), "npte", false, ""},
		{"lab target name", new(validate.LabTarget), "star", true, ""},
		{"lab target file", new(validate.LabTarget), "./star.yaml", true, ""},
		{"lab target bad name", new(validate.LabTarget), "Star", false, ""},
		{"lab target empty", new(validate.LabTarget), "", false, ""},
		{"lab name ok", new(validate.LabName), "star", true, ""},
		{"lab name file", new(validate.LabName), "star.yaml", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.UnmarshalText([]byte(tc.in))
			var ve *validate.Error
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused %q: %v", tc.in, err)
			case !tc.ok && !errors.As(err, &ve):
				t.Fatalf("%q: err = %v, want a *validate.Error", tc.in, err)
			case !tc.ok && ve.Value != tc.in:
				t.Errorf("error names %q, want %q", ve.Value, tc.in)
			}
			if s, isStringer := tc.v.(interface{ String() string }); tc.ok && tc.want != "" && isStringer && s.String() != tc.want {
				t.Errorf("String() = %q, want %q", s.String(), tc.want)
			}
		})
	}
}
