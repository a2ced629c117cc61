package cli

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestParseSocketsHostileNames: a process name is the kernel's raw comm
// (up to 15 bytes, anything but NUL); ss prints it as is. Issue 10 item
// 11: a newline or an escape sequence in it must not break the parse nor
// the JSON.
func TestParseSocketsHostileNames(t *testing.T) {
	cases := []struct {
		in   string
		want []Socket
	}{
		{"", []Socket{}},
		{"tcp   LISTEN 0      128        127.0.0.1:5555      0.0.0.0:*    users:((\"socat\",pid=1,fd=3))\n",
			[]Socket{{"tcp", "LISTEN", 0, 128, "127.0.0.1:5555", "0.0.0.0:*", `users:(("socat",pid=1,fd=3))`}}},
		{"udp UNCONN 0 0 0.0.0.0:68 0.0.0.0:*\ntcp LISTEN 0 5 [::]:22 [::]:* users:((\"a b\",pid=2,fd=4),(\"c\",pid=3,fd=5))\n",
			[]Socket{{"udp", "UNCONN", 0, 0, "0.0.0.0:68", "0.0.0.0:*", ""}, {"tcp", "LISTEN", 0, 5, "[::]:22", "[::]:*", `users:(("a b",pid=2,fd=4),("c",pid=3,fd=5))`}}},
		// The name "a\n\x1b[31mb\"\\" as the sandbox's ss printed it.
		{"tcp   LISTEN 0      128        127.0.0.1:5555      0.0.0.0:*    users:((\"a\n\x1b[31mb\"\\\",pid=21680,fd=3))\n",
			[]Socket{{"tcp", "LISTEN", 0, 128, "127.0.0.1:5555", "0.0.0.0:*", "users:((\"a\n\x1b[31mb\"\\\",pid=21680,fd=3))"}}},
		// A name that ends like a record and starts a new line.
		{"tcp LISTEN 0 1 1.1.1.1:1 0.0.0.0:* users:((\"x))\nudp a 0 0\",pid=5,fd=3))\nudp UNCONN 0 0 0.0.0.0:9 0.0.0.0:*\n",
			[]Socket{{"tcp", "LISTEN", 0, 1, "1.1.1.1:1", "0.0.0.0:*", "users:((\"x))\nudp a 0 0\",pid=5,fd=3))"}, {"udp", "UNCONN", 0, 0, "0.0.0.0:9", "0.0.0.0:*", ""}}},
	}
	for _, c := range cases {
		got, err := parseSockets([]byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", c.in, got, c.want)
		}
		b, err := json.Marshal(got)
		if err != nil || !json.Valid(b) {
			t.Errorf("%q: JSON %s %v", c.in, b, err)
		}
	}
	if _, err := parseSockets([]byte("garbage\n")); err == nil {
		t.Error("garbage parsed")
	}
}
