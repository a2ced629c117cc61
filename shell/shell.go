// Package shell is the vocabulary that npte's two interpreters of a
// plan.Plan share: render, which writes a POSIX sh script, and exec, which
// runs the plan live. It holds the PATH programs are found in, the lock's
// descriptor, the quoting of words and command lines (the one place that
// calls mvdan.cc/sh/v3/syntax.Quote), and the state Layout. render and exec
// import this package and plan, never each other.
//
// Every word is quoted with syntax.Quote; bytes that Quote refuses in POSIX
// mode but that sh carries fine inside single quotes (newline, tab, other
// control characters, invalid UTF-8) are emitted raw inside single quotes.
// NUL cannot be carried by a script nor by execve and is an error.
package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// SafePath is the PATH a rendered script sets for itself, and the one the
// live executor searches: hostile PATH entries never choose a program.
const SafePath = "/usr/sbin:/usr/bin:/sbin:/bin"

// LockFD is the file descriptor that holds npte's lock in a script and in
// every child a live run starts while it holds the lock.
const LockFD = 9

// ErrNUL is returned for a word that contains a NUL byte.
var ErrNUL = errors.New("contains a NUL byte, which no command line can carry")

// Word quotes one argv word for POSIX sh.
func Word(s string) (string, error) {
	if plainWord(s) {
		return s, nil
	}
	q, err := syntax.Quote(s, syntax.LangPOSIX)
	if err == nil {
		return q, nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("%q %w", s, ErrNUL)
	}
	// Split into runs of printable and non-printable runes. Printable runs
	// go through syntax.Quote; the others are literal inside single quotes,
	// where sh takes every byte but ' as it is.
	var b strings.Builder
	for len(s) > 0 {
		i := 0
		printable := isPrint(s)
		for i < len(s) {
			_, size := utf8.DecodeRuneInString(s[i:])
			if isPrint(s[i:]) != printable {
				break
			}
			i += size
		}
		run := s[:i]
		s = s[i:]
		if printable {
			q, err := syntax.Quote(run, syntax.LangPOSIX)
			if err != nil {
				return "", err
			}
			b.WriteString(q)
		} else {
			b.WriteString("'" + run + "'")
		}
	}
	return b.String(), nil
}

// plainWord reports whether s is a word that syntax.Quote returns
// unchanged, decided without decoding runes: non-empty, only ASCII letters,
// digits and _ . / , : @ % + -, and not a shell keyword. Most words of a
// plan (program names, options, names, paths, addresses) are, and this
// fast path is the renderer's hottest loop.
func plainWord(s string) bool {
	if s == "" {
		return false
	}
	letters := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9', c == '_', c == '.', c == '/', c == ',', c == ':', c == '@', c == '%', c == '+', c == '-':
			letters = false
		default:
			return false
		}
	}
	return !letters || !syntax.IsKeyword(s)
}

// isPrint reports whether the first rune of s is one that syntax.Quote
// accepts in POSIX mode: printable, and not utf8.RuneError (which Quote
// refuses even when it is a literal U+FFFD rather than an invalid byte).
func isPrint(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r != utf8.RuneError && unicode.IsPrint(r)
}

// Argv quotes and joins an argv.
func Argv(argv []string) (string, error) {
	var b strings.Builder
	for i, a := range argv {
		q, err := Word(a)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(q)
	}
	return b.String(), nil
}

// CommandLine renders a command line for display in comments and
// messages: each word quoted with syntax.Quote in Bash mode, which escapes
// control characters instead of failing, so the result is one line.
func CommandLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			q = strconv.Quote(a)
		}
		words[i] = q
	}
	return strings.Join(words, " ")
}
