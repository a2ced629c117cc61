package render

import (
	"testing"

	"github.com/npte/npte/shell"
)

// TestPlainWordIsQuoted: a word plainWord lets through is exactly what
// shell.Word makes of it.
func TestPlainWordIsQuoted(t *testing.T) {
	words := []string{"", "ip", "-n", "n0", "10.0.0.0/14", "fd00::1/64", "if-n993", "!", "{", "}", "[[", "]]", "fi", "if", "do", "in",
		"time", "Fi", "IF", "a=b", "~x", "a b", "a*", "x#", "é", "a\x00", "a\tb", "%s", "user@host", "a,b", "+1", "_", "--", "-6",
		"/run/npte/lab/chain1000/lab.json", "0644", "/dev/stdin", "net.ipv4.ip_forward=1", "eth0.100", "a'b", `a"b`, "a\\b", "$x", "`x`"}
	for _, w := range words {
		checkPlainWord(t, w)
	}
}

// FuzzPlainWord: the same for any word.
func FuzzPlainWord(f *testing.F) {
	for _, w := range []string{"ip", "n0", "10.0.0.0/14", "fi", "a=b", "é"} {
		f.Add(w)
	}
	f.Fuzz(checkPlainWord)
}

func checkPlainWord(t *testing.T, w string) {
	if !plainWord(w) {
		return
	}
	if q, err := shell.Word(w); err != nil || q != w {
		t.Errorf("plainWord(%q) but shell.Word gives %q, %v", w, q, err)
	}
}
