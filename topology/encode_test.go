package topology

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"testing"
)

// TestEncodeIsMarshal: the hand-written record encoder writes exactly
// what encoding/json's Marshal writes, for every example, generated
// labs, and labs with the odd values a decoded record can hold (nil and
// empty slices, zero and zoned addresses, strings JSON escapes).
func TestEncodeIsMarshal(t *testing.T) {
	labs := exampleLabs(t)
	for _, shape := range []string{"chain", "star", "grid"} {
		l, err := LoadBytes(shape, genLab(shape, 30, "addressing: {ipv4: 10.0.0.0/12, ipv6: 'fd00:6e70::/48'}\n"))
		if err != nil {
			t.Fatal(err)
		}
		labs = append(labs, l)
	}
	odd := "a<b>&\"\\\x01é\u2028\xff"
	labs = append(labs,
		&Lab{},
		&Lab{Name: odd, IPv6Pool: netip.MustParsePrefix("fd00::/48"), Nodes: []NodeSpec{{Name: odd}, {Name: "x", DNS: []string{}}, {DNS: []string{odd, ""}}},
			Links: []LinkSpec{{}, {Kind: odd, A: End{Node: odd, Iface: odd, Addrs: []netip.Prefix{}, Shape: odd, ShapeArgs: []string{}},
				B: End{Addrs: []netip.Prefix{{}, netip.MustParsePrefix("10.0.0.1/24")}, ShapeArgs: []string{odd}}, Subnets: []netip.Prefix{}}},
			Routes: []RouteSpec{{}, {Node: odd, To: odd, Via: netip.MustParseAddr("fe80::1%" + odd), Dev: odd, Static: true},
				{Via: netip.MustParseAddr("::ffff:10.0.0.1")}, {Via: netip.MustParseAddr("10.0.0.1")}},
			Uplink: &UplinkSpec{Node: odd, Subnet6: netip.MustParsePrefix("fd00:1::/64")}},
		&Lab{Nodes: []NodeSpec{}, Links: []LinkSpec{}, Routes: []RouteSpec{}, Uplink: &UplinkSpec{}},
	)
	for i, l := range labs {
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Encode(); !bytes.Equal(got, want) {
			t.Errorf("lab %d (%s): Encode\n%s\nwant (json.Marshal)\n%s", i, l.Name, got, want)
		}
	}
}

// exampleLabs loads every example.
func exampleLabs(t *testing.T) []*Lab {
	t.Helper()
	var labs []*Lab
	for _, f := range examples(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := LoadBytes(f, data)
		if err != nil {
			t.Fatal(err)
		}
		labs = append(labs, l)
	}
	return labs
}
