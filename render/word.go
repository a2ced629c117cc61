package render

import (
	"github.com/npte/npte/shell"
	"mvdan.cc/sh/v3/syntax"
)

// Byte classes of wordClass, for printable ASCII; every other byte is
// left to shell.Word.
const (
	byteOther = iota // not printable ASCII: shell.Word decides
	byteLower        // a-z: a keyword is made of them (and of ! [ ] { })
	bytePlain        // written as it is by syntax.Quote
	byteShell        // a shell character: syntax.Quote single-quotes the word
	byteQuote        // ': syntax.Quote double-quotes the word
)

// byteClass has, for each byte, the bit 1<<class of its class, as
// syntax.Quote (LangPOSIX) sees it: its shell characters are
// ; " ' ( ) $ | & > < ` space \ # { ~ * ? [ = (tab, CR and newline are
// not printable: byteOther). A constant: TestByteClass checks it
// against those rules.
const byteClass = "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x08\x04\x08\x08\x08\x04\x08\x10\x08\x08\x08\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x08\x08\x08\x08\x08" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x08\x08\x04\x04\x04" +
	"\x08\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x08\x08\x04\x08\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

// wordClass says how shell.Word quotes s, when that is simple: plain
// (written as it is), single (in single quotes as it is), or neither
// (anything else: let shell.Word do it). A word is plain when it is not
// empty, each byte is printable ASCII and no shell character, and it is
// no shell keyword (syntax.IsKeyword: lowercase words, or ! [[ ]] { });
// single when its bytes are printable ASCII without a single quote and
// it is not plain. These are syntax.Quote's own rules
// (TestPlainWordIsQuoted, FuzzPlainWord). A 1000-node lab's script has
// about 100,000 words, nearly all of them plain (programs, names,
// addresses, prefixes, options), some single (sysctl settings); this
// byte scan avoids Quote's rune by rune pass and its allocation.
func wordClass(s string) (plain, single bool) {
	if s == "" {
		return false, false
	}
	var seen uint8 // the classes seen, as bits
	for i := 0; i < len(s); i++ {
		seen |= byteClass[s[i]]
	}
	switch {
	case seen&(1<<byteOther|1<<byteQuote) != 0:
		return false, false
	case seen&(1<<byteShell) != 0:
		return false, true
	case (seen&(1<<bytePlain) == 0 || len(s) <= 2) && syntax.IsKeyword(s):
		// Keywords are lowercase words, and ! [[ ]] { }.
		return false, true
	}
	return true, false
}

// plainWord reports whether s is written as it is by shell.Word (see
// wordClass).
func plainWord(s string) bool {
	plain, _ := wordClass(s)
	return plain
}

// word writes one quoted word (shell.Word(s)): plain and single-quoted
// words straight into the buffer.
func (r *renderer) word(s string) error {
	switch plain, single := wordClass(s); {
	case plain:
		r.b.WriteString(s)
		return nil
	case single:
		r.b.WriteByte('\'')
		r.b.WriteString(s)
		r.b.WriteByte('\'')
		return nil
	}
	q, err := shell.Word(s)
	if err != nil {
		return err
	}
	r.b.WriteString(q)
	return nil
}
