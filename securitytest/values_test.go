package securitytest

import (
	"strings"
)

// hostileValues is the table of hostile inputs pushed through every
// argument and flag of every verb (TestHostileInput). Most are invalid for
// every kind of argument; the few that are valid for some argument (a
// digits-and-dots word is a valid interface name, "default" a valid route
// destination) are excluded from that argument only, by its slot's valid
// function.
func hostileValues() []string {
	v := []string{
		// Empty and blank.
		"", " ", "  ", "\t", "\n", "\r\n", " a", "a ", "a b", "a\tb",
		// Newlines and control characters: each could split a script line
		// or a log line, or drive a terminal.
		"a\nb", "a\rb", "a\n", "\na", "a\x00b", "\x00", "a\x00", "\x1b[31mred", "a\x1b]0;title\x07",
		"\x7f", "a\x08b", "a\x0bb", "a\x0cb", "\x01", "a\x1fb", "a\u0085b", "a\u2028b", "a\u2029b",
		// Shell syntax.
		"$(id)", "`id`", "$(reboot)", "${IFS}", "$IFS", "$HOME", "$0", "$$", "$@", "${x:-y}", "$((1+1))",
		"a;b", ";", ";id", "a|b", "|", "a||b", "a&b", "&", "a&&b", "a>b", ">x", ">/etc/passwd", "a<b",
		"<x", "<<EOF", "a>>b", "2>&1", "a(b", "()", ")", "{a,b}", "{", "}", "*", "a*", "?", "a?", "[a]",
		"[", "]", "~", "~root", "~/x", "!", "a!b", "!!", "^", "a^b", "a\\b", "\\", "\\n", "a=b", "=",
		"=a", "%", "a%b",
		// Quotes.
		"'", "\"", "a'b", "a\"b", "''", "\"\"", "'$(id)'", "\"$(id)\"", "'; rm -rf / #", "\"; id; \"",
		"a'\"b", "`", "a`b",
		// Comments: the original quoter left # unquoted.
		"#", "a#b", "#a", "a #b", "a#", "# rm -rf /", "x;#",
		// Options: a leading "-" must never reach a tool as an option.
		"-", "-a", "-rf", "--", "---", "-1", "-0", "--force", "-n", "--dry-run", "--json", "-e",
		"-x=y", "--dns=1.1.1.1", "-6", "-all", "--netns=x", "-h", "--help", "--version",
		// Paths and traversal.
		".", "..", "...", "../x", "../../etc/passwd", "/", "//", "/etc/passwd", "/run/npte/lock",
		"a/b", "a/", "/a", "./a", "..\\x", "%2e%2e", "%2fetc", "/dev/null", "/proc/self/environ",
		"/dev/stdin", "a/../b", "a/./b", "/run/netns/x", "../../../../run/npte/netns/x",
		// Numbers out of range and malformed addresses.
		"256.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4/33", "1.2.3.4/-1",
		"1.2.3.4/", "/24", "10.0.0.0/24/1", "1.2.3.4/024", "::/129", "2001:db8::/999", "1::2::3",
		":::", "2001:db8:::1", "g::1", "99999999999999999999", "4294967296", "-2147483649",
		"1e9", "0x10", "NaN", "Inf", "-Inf", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.4;id",
		"1.2.3.4#", "1.2.3.4/24#", "0.0.0.0/0;id", "::ffff:1.2.3.4", "::ffff:10.0.0.1/120",
		"1.1.1.1,8.8.8.8", "1.1.1.1 8.8.8.8", "localhost", "host.example",
		// IPv6 zones.
		"fe80::1%eth0", "fe80::1%25eth0", "fe80::1%", "fe80::1%1", "::1%lo/64", "fe80::%eth0/64",
		"fe80::1%eth0;id", "fe80::1%$(id)",
		// Unicode look-alikes and tricks.
		"\u0430", "\u0430b", "ab\u0441", "\uff41", "\uff41\uff42", "\u0456f-a", "d\u0435mo",
		"\u212f", "\U0001d41a", "a\u0301", "\ufeffa", "a\u200bb", "\u200b", "\u202eab", "a\u00a0b",
		"\u0663", "\uff11\uff10.\uff10.\uff10.\uff11", "10.0.0.1\u200b", "\u2215etc", "\u2024\u2024",
		"\uff0e\uff0e", "\u2010a", "\u2013a", "\u2212a", "\xff", "a\xffb", "\xc0\xaf", "\xe2\x80",
		"\xed\xa0\x80", "\u00e9", "caf\u00e9", "\u4e2d\u6587", "\U0001f600",
		// Overlong interface and namespace names.
		strings.Repeat("a", 13), strings.Repeat("a", 16), "if-" + strings.Repeat("a", 13),
		"abcdefghijklmnop", strings.Repeat("x", 64), strings.Repeat("y", 255), strings.Repeat("z", 256),
		strings.Repeat("b", 4096), strings.Repeat("c", 100000), strings.Repeat("$(id)", 1000),
		strings.Repeat("\n", 100), strings.Repeat("../", 100),
		// Interface names the kernel forbids.
		"eth0:1", "eth 0", "eth/0", "if:x", "lo:0",
		// Namespace names npte forbids.
		"Bad", "1x", "A", "aB", "a_b", "a-b", "a.b", "a+b", "a@b", "a:b", "a,b", "x-",
		// Format strings, templates, injections into other languages.
		"%s", "%n", "%x%x%x", "%%", "{{.}}", "${jndi:ldap://x}", "<script>", "' OR 1=1 --",
		"\\x00", "\\u0000", "$'\\x41'", "a\\\nb",
		// Environment-looking values.
		"PATH=/tmp", "LD_PRELOAD=/tmp/x.so", "IFS=/", "=x", "A=B=C", "1X=y", "-x=y",
	}
	// Metacharacters in every position of an otherwise plausible word.
	for _, m := range []string{";", "|", "&", "$", "`", "'", "\"", "#", " ", "\n", "\\", "*", "?", "<", ">", "(", ")", "!", "~", "%", "/", ":", ",", "="} {
		v = append(v, m+"ab", "ab"+m, "a"+m+"b")
	}
	return dedupe(v)
}

func dedupe(v []string) []string {
	seen := map[string]bool{}
	out := v[:0]
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
