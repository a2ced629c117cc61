package topology

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fastCorpus is every file the fast path is checked on: the examples,
// generated labs, and the plain and not-so-plain forms of each field.
func fastCorpus(t testing.TB) [][]byte {
	var out [][]byte
	fs, _ := examplesGlob()
	for _, f := range fs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, shape := range []string{"chain", "star", "grid"} {
		out = append(out, genLab(shape, 20, "addressing: {ipv4: 10.0.0.0/12, ipv6: 'fd00:6e70::/48'}\nuplink: {node: n0, iface: eth0, subnet: 192.168.77.0/24}\n"))
	}
	out = append(out, ChainFile(50))
	const head = "name: t\nnodes:\n  a: {}\n  b: {}\n"
	for _, s := range []string{
		"", "\n", "# only a comment\n", "name: a\n", "name: a", "name: a\nnodes: {}\n", "name: a\nnodes:\n", "name:\nnodes: {a: {}}\n",
		"name: a\nnodes: {a: {}, b: {}}\nlinks: [[a, b], {endpoints: [a, b], ifaces: {a: x}}]\n",
		head + "links: []\n", head + "links:\n- [a, b]\nroutes: none\n", head + "links:\n  - [a, b]\n  -  [b, a]\n",
		head + "links:\n  - endpoints: [a, b]\n    kind: veth\n    ifaces: {a: x1, b: y1}\n    addresses: {a: 10.0.0.1/24, b: [10.0.0.2/24, 'fd00::2/64']}\n",
		head + "links:\n  - endpoints:\n      - a\n      - b\n",
		head + "links:\n  - endpoints:\n    - a\n    - b\n",
		head + "links:\n  -\n    endpoints: [a, b]\n",
		head + "links:\n  - endpoints: [a, b]\n    ifaces: {}\n    addresses: {}\n",
		head + "links:\n  - {endpoints: [a, b]}\n",
		head + "links:\n  - [a, b, ]\n", head + "links:\n  - [a,b]\n", head + "links:\n  - [a , b]\n", head + "links:\n  - [ a, b ]\n",
		head + "links:\n  - [a, b]\n  - []\n  - [a]\n", head + "links:\n  - a\n",
		"name: t\nnodes:\n  a: {dns: []}\n  b: {dns: [1.1.1.1, '2.2.2.2', \"::1\"], host: local}\n",
		"name: t\nnodes:\n  a:\n    dns:\n      - 1.1.1.1\n    host: local\n",
		"name: t\nnodes:\n  a: {}\n  a: {}\n", "name: t\nname: u\nnodes: {a: {}}\n", "name: t\nnodes: {a: {}, a: {}}\n",
		"name: t\nnodez: {}\n", "name: t\nnodes:\n  a: {dnss: []}\n",
		"name: 't'\nnodes: {a: {}}\n", "name: \"t\"\nnodes: {a: {}}\n", "name: 'it''s'\nnodes: {a: {}}\n", "name: \"a\\tb\"\nnodes: {a: {}}\n",
		"name: t # comment\nnodes: {a: {}} # comment\n", "name: t#x\nnodes: {a: {}}\n", "name: t #x\n#\n  # indented comment\nnodes: {a: {}}\n",
		"name: t\nnodes: {a: {}}\nroutes: none\nstatic:\n  - {node: a, to: default, via: b}\n  - node: a\n    to: 10.9.0.0/16\n    via: b\n",
		"name: t\nnodes: {a: {}}\nuplink: {node: a, iface: eth0, subnet: 172.16.1.0/24, subnet6: 'fd00:1::/64', firewall: iptables}\n",
		"name: t\nnodes: {a: {}}\nuplink:\n  node: a\n  iface: eth0\n  subnet: 172.16.1.0/24\n",
		"name: t\naddressing: {}\nnodes: {a: {}}\n", "name: t\naddressing:\n  ipv4: 10.0.0.0/8\nnodes: {a: {}}\n",
		"name: true\nnodes: {a: {}}\n", "name: 123\nnodes: {a: {}}\n", "name: 1.2\nnodes: {a: {}}\n", "name: 1.2.3\nnodes: {a: {}}\n",
		"name: 1/2\nnodes: {a: {}}\n", "name: 0x1f\nnodes: {a: {}}\n", "name: 2001-12-14\nnodes: {a: {}}\n", "name: null\nnodes: {a: {}}\n",
		"name: Null\nnodes: {a: {}}\n", "name: ~\nnodes: {a: {}}\n", "name: yes\nnodes: {a: {}}\n", "name: No\nnodes: {a: {}}\n", "name: y\nnodes: {a: {}}\n",
		"name: .inf\nnodes: {a: {}}\n", "name: 1e3\nnodes: {a: {}}\n", "name: e3\nnodes: {a: {}}\n", "name: a-b>c\nnodes: {a: {}}\n",
		"name: a\n  b\nnodes: {a: {}}\n", "name: a\nnodes: {a: {}}\n---\nname: b\n", "---\nname: a\nnodes: {a: {}}\n", "name: a\nnodes: {a: {}}\n...\n",
		" name: a\n nodes: {a: {}}\n", "name: a\n  nodes: {a: {}}\n", "name: a\nnodes:\n  a: {}\n   b: {}\n", "name: a\nnodes:\n  a: {}\n b: {}\n",
		"name: a\nnodes:\n\ta: {}\n", "name: a\r\nnodes: {a: {}}\r\n", "name: é\nnodes: {a: {}}\n", "name: a\nnodes: {a: {}}\nlinks: {}\n",
		"name: a\nnodes: [a]\n", "name: [a]\nnodes: {a: {}}\n", "name: {a: b}\nnodes: {a: {}}\n", "name: a\nnodes: {a: []}\n", "name: a\nnodes: {a: b}\n",
		"name: a\nnodes: {a: {dns: 1.1.1.1}}\n", "name: a\nnodes: {a: {dns: [[1.1.1.1]]}}\n", "name: a\nnodes: {a: {}}\nstatic: {}\n",
		"name: a\nnodes: {a: {}}\nstatic: [a]\n", "name: a\nnodes: {a: {}}\nuplink: []\n", "name: a\nnodes: {a: {}}\nroutes: [auto]\n",
		"name: a\nnodes: {a: {}}:\n", "name: a\nnodes: {a: {}\n", "name: a\nnodes: {a: {}}}\n", "name: a\nnodes: {a:{}}\n", "name: a\nnodes: {a : {}}\n",
		"name: a\nnodes: {\"a\": {}}\n", "name: a\n\"nodes\": {a: {}}\n", "name: a\nnodes:\n  10.0.0.0/8: {}\n", "name: a\nnodes:\n  a->b: {}\n",
		"name: a\nnodes: {a: {}}\nlinks:\n  - endpoints: [a, b]\n    shape:\n      a->b: {delay: 1ms}\n",
		"- a\n- b\n", "&a [*a]", "{{{{", "name: !!binary x\n", "name: &x a\nnodes: {a: {}}\n", "name: a\nnodes: {a: {}}\n<<: {}\n",
	} {
		out = append(out, []byte(s))
	}
	return out
}

func examplesGlob() ([]string, error) {
	fs, err := filepath.Glob("../examples/*.yaml")
	return fs, err
}

// checkFast fails when the fast path accepts data but decodes it other
// than the library does (or the library refuses it).
func checkFast(t testing.TB, data []byte) bool {
	f, ok := fastParse(data)
	if !ok {
		return false
	}
	want, _, err := parseLibrary("x.yaml", data)
	if err != nil {
		t.Fatalf("fast path accepts what the library refuses (%v):\n%s", err, data)
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("fast path decodes\n%s\nas %#v\nthe library as %#v", data, f, want)
	}
	return true
}

// TestFastParseIsParse: whatever the fast path accepts, the library
// decodes to the same File; and the fast path does take the plain files
// (the examples without shapings, generated labs).
func TestFastParseIsParse(t *testing.T) {
	n := 0
	for _, data := range fastCorpus(t) {
		if checkFast(t, data) {
			n++
		}
	}
	for _, data := range [][]byte{ChainFile(1000), genLab("grid", 30, ""), genLab("star", 9, "")} {
		if !checkFast(t, data) {
			t.Errorf("the fast path refuses a generated lab:\n%s", data)
		}
	}
	// A duplicate key in a large mapping (has switches to a set).
	dup := strings.Replace(string(ChainFile(50)), "  n40: {}\n", "  n40: {}\n  n3: {}\n", 1)
	if _, ok := fastParse([]byte(dup)); ok {
		t.Errorf("the fast path takes a duplicate node of a large mapping")
	}
	t.Logf("fast path took %d of %d files", n, len(fastCorpus(t)))
	if n < 30 {
		t.Errorf("the fast path took only %d files of the corpus", n)
	}
}

// FuzzFastParse: whatever the fast path accepts, the library decodes to
// the same File.
func FuzzFastParse(f *testing.F) {
	for _, data := range fastCorpus(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}
