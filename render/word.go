package render

import "mvdan.cc/sh/v3/syntax"

// plainWord reports whether s is written as it is by shell.Word: it is
// not empty, each byte is a letter, a digit or one of -_./:,+%@, and it
// is no shell keyword (syntax.IsKeyword: lowercase words, or ! [[ ]] {
// }). syntax.Quote returns such a word unchanged: it holds no shell
// character and no non-printable rune. A 1000-node lab's script has
// about 100,000 words, nearly all of them plain (programs, names,
// addresses, prefixes, options); this byte scan avoids Quote's rune by
// rune pass for them (TestPlainWordIsQuoted).
func plainWord(s string) bool {
	if s == "" {
		return false
	}
	lower := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '/', c == ':', c == ',', c == '+', c == '%', c == '@':
			lower = false
		default:
			return false
		}
	}
	return !lower || !syntax.IsKeyword(s)
}
