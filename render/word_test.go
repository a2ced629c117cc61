package render

import (
	"strings"
	"testing"

	"github.com/npte/npte/shell"
)

// TestPlainWordIsQuoted: a word wordClass calls plain is exactly what
// shell.Word makes of it, one it calls single is what shell.Word makes of
// it in single quotes, and the renderer writes every word as shell.Word
// does.
func TestPlainWordIsQuoted(t *testing.T) {
	words := []string{"", "ip", "-n", "n0", "10.0.0.0/14", "fd00::1/64", "if-n993", "!", "{", "}", "[[", "]]", "fi", "if", "do", "in",
		"time", "Fi", "IF", "a=b", "~x", "a b", "a*", "x#", "é", "a\x00", "a\tb", "%s", "user@host", "a,b", "+1", "_", "--", "-6",
		"/run/npte/lab/chain1000/lab.json", "0644", "/dev/stdin", "net.ipv4.ip_forward=1", "eth0.100", "a'b", `a"b`, "a\\b", "$x", "`x`",
		"a^b", "a]b", "a}b", "a!b", "x\x7f", "[", "]", "{}", "a;b", "a|b", "a&b", "a>b", "a<b", "a(b", "a)b", "a?b", "case", "esac", "coproc", "select", "while", "until", "then", "elif", "done"}
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
	q, qerr := shell.Word(w)
	plain, single := wordClass(w)
	switch {
	case plain && (qerr != nil || q != w):
		t.Errorf("wordClass(%q) plain but shell.Word gives %q, %v", w, q, qerr)
	case single && (qerr != nil || q != "'"+w+"'"):
		t.Errorf("wordClass(%q) single but shell.Word gives %q, %v", w, q, qerr)
	case plain != plainWord(w):
		t.Errorf("plainWord(%q) is not wordClass's plain", w)
	}
	var r renderer
	err := r.word(w)
	if (err != nil) != (qerr != nil) || err == nil && r.b.String() != q {
		t.Errorf("word(%q) wrote %q, %v; shell.Word gives %q, %v", w, r.b.String(), err, q, qerr)
	}
}

// TestByteClass: the byteClass table is the classes its comment gives.
func TestByteClass(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := byteOther
		switch {
		case c == '\'':
			want = byteQuote
		case strings.IndexByte(";\"()$|&><` \\#{~*?[=", byte(c)) >= 0:
			want = byteShell
		case 'a' <= c && c <= 'z':
			want = byteLower
		case 0x20 <= c && c < 0x7f:
			want = bytePlain
		}
		if byteClass[c] != 1<<want {
			t.Errorf("byte %#x: class bit %#x, want %#x", c, byteClass[c], 1<<want)
		}
	}
}
