package shell_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/npte/npte/shell"
)

// words is the table of awkward argv words shared by the quoting tests and
// the fuzz seed corpus.
var words = []string{
	"", "a", "plain-word_1.2", "a b", "  ", "#", "a#b", "#comment", "'", "it's", "''",
	`"`, `a"b`, `\`, `a\nb`, "$", "$HOME", "${HOME}", "$(id)", "`id`", "$((1+1))",
	"a;b", "a&b", "a|b", "a>b", "<", "(", ")", "{", "}", "{a,b}", "~", "~root", "a=b",
	"*", "?", "[a]", "!", "if", "then", "fi", "-n", "--", "-e", "%s",
	"a\nb", "\n", "a\n", "\na", "a\tb", "\t", "a\rb", "\x01", "\x07\x08\x0b\x0c\x1b[31m", "\x1f", "\x7f",
	"\xff", "a\xffb", "\xc3", "\xe2\x82", "\xed\xa0\x80", // invalid UTF-8 (truncated, surrogate)
	"é", "日本語", "\u00a0", "\u200b", "\u2028", "\ufeff", "\U0001F600", "\ufffd", "a\ufffdb",
	"it's\n$(id)\t`x`#\xff'\"\\", "'\n'", "a'\n'b",
}

// wantQuoted pins the exact rendering of some words: the reviewed scripts
// (goldens) depend on it, so a change must be deliberate.
var wantQuoted = map[string]string{
	"":       "''",
	"a":      "a",
	"-n":     "-n",
	"a b":    "'a b'",
	"#":      "'#'",
	"a#b":    "'a#b'",
	"it's":   `"it's"`,
	"$(id)":  "'$(id)'",
	"`id`":   "'`id`'",
	"if":     "'if'",
	"!":      "'!'",
	"~":      "'~'",
	"a=b":    "'a=b'",
	"a\nb":   "a'\n'b",
	"a\tb":   "a'\t'b",
	"\xff":   "'\xff'",
	"é":      "é",
	"\ufffd": "'\ufffd'",
}

func TestWordPinned(t *testing.T) {
	for in, want := range wantQuoted {
		got, err := shell.Word(in)
		if err != nil || got != want {
			t.Errorf("Word(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// parseArgv parses line as one POSIX simple command, checks that it holds
// nothing but literal and quoted text (no expansion, glob, redirection,
// assignment or keyword), and returns its words expanded by mvdan's expand.
func parseArgv(line string) ([]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(line+"\n"), "")
	if err != nil {
		return nil, err
	}
	if len(f.Stmts) != 1 {
		return nil, errors.New("not exactly one statement: " + strconv.Itoa(len(f.Stmts)))
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || st.Negated || st.Background || len(st.Redirs) > 0 || len(call.Assigns) > 0 {
		return nil, errors.New("not a plain simple command")
	}
	for _, w := range call.Args {
		for i, p := range w.Parts {
			switch p := p.(type) {
			case *syntax.Lit:
				if strings.ContainsAny(p.Value, "*?[") || i == 0 && strings.HasPrefix(p.Value, "~") {
					return nil, errors.New("unquoted glob or tilde in " + strconv.Quote(p.Value))
				}
			case *syntax.SglQuoted:
				if p.Dollar {
					return nil, errors.New("$'...' is not POSIX")
				}
			case *syntax.DblQuoted:
				for _, q := range p.Parts {
					if _, ok := q.(*syntax.Lit); !ok {
						return nil, errors.New("expansion inside double quotes")
					}
				}
			default:
				return nil, fmt.Errorf("word part %T is an expansion", p)
			}
		}
	}
	return expand.Fields(&expand.Config{Env: expand.ListEnviron()}, call.Args...)
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkRoundTrip(t *testing.T, argv []string) {
	t.Helper()
	line, err := shell.Argv(argv)
	for _, w := range argv {
		if strings.IndexByte(w, 0) >= 0 {
			if !errors.Is(err, shell.ErrNUL) {
				t.Fatalf("Argv(%q) = %q, %v; want an error wrapping ErrNUL", argv, line, err)
			}
			return
		}
	}
	if err != nil {
		t.Fatalf("Argv(%q): %v", argv, err)
	}
	if !utf8.ValidString(line) {
		// mvdan's parser refuses invalid UTF-8; sh carries those bytes
		// inside single quotes as they are. Ask a real sh.
		if dash, err := exec.LookPath("dash"); err == nil {
			if got := dashWords(t, dash, line); !equalWords(got, argv) {
				t.Fatalf("Argv(%q) = %q; dash reads it as %q", argv, line, got)
			}
		}
		return
	}
	got, err := parseArgv(line)
	if err != nil {
		t.Fatalf("Argv(%q) = %q, which does not parse back: %v", argv, line, err)
	}
	if !equalWords(got, argv) {
		t.Fatalf("Argv(%q) = %q parses back as %q", argv, line, got)
	}
}

// dashWords runs "printf '%s\0' LINE" in dash and returns the words. As
// root, dash runs in bubblewrap with the whole file system read-only and
// no network, so that a quoting bug (a word that became "> /etc/passwd")
// cannot write anything; without bubblewrap, root skips.
func dashWords(t *testing.T, dash, line string) []string {
	t.Helper()
	out, err := readOnlyShell(t, dash, "-c", `printf '%s\0' `+line).Output()
	if err != nil {
		t.Fatalf("dash -c %q: %v", line, err)
	}
	got := strings.Split(string(out), "\x00")
	return got[:len(got)-1]
}

func TestWordRoundTrip(t *testing.T) {
	for _, w := range words {
		checkRoundTrip(t, []string{"cmd", w})
		checkRoundTrip(t, []string{w, w + w})
	}
	checkRoundTrip(t, words)
}

func TestWordNUL(t *testing.T) {
	for _, w := range []string{"\x00", "a\x00", "\x00b", "it's\x00\n"} {
		if q, err := shell.Word(w); !errors.Is(err, shell.ErrNUL) {
			t.Errorf("Word(%q) = %q, %v; want ErrNUL", w, q, err)
		}
		if q, err := shell.Argv([]string{"ip", w}); !errors.Is(err, shell.ErrNUL) {
			t.Errorf("Argv(ip, %q) = %q, %v; want ErrNUL", w, q, err)
		}
	}
}

// readOnlyShell returns the command "SHELL ARGS" that, as root, runs in
// bubblewrap with / bound read-only, a private /dev and /proc and no
// network. Quoting tests (not rendered scripts, which run only inside
// sandbox.Enter) use it.
func readOnlyShell(t testing.TB, sh string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		return exec.Command(sh, args...) // cannot write the machine's files
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bubblewrap is not installed: as root, quoting tests run sh only in a read-only bubblewrap")
	}
	return exec.Command(bwrap, append([]string{"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
		"--unshare-net", "--die-with-parent", "--", sh}, args...)...)
}

func needDash(t *testing.T) string {
	t.Helper()
	d, err := exec.LookPath("dash")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dash is not installed (.ci/run installs it)")
		}
		t.Skip("dash is not installed")
	}
	return d
}

// noWrites is an interp open handler that refuses every write but to
// /dev/null: a quoting bug that turned a word into "> FILE" fails instead
// of writing FILE.
func noWrites(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if path != "/dev/null" && flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, fmt.Errorf("refusing to write %s", path)
	}
	return interp.DefaultOpenHandler()(ctx, path, flag, perm)
}

// TestArgvDash runs the rendered words through a real POSIX shell.
func TestArgvDash(t *testing.T) {
	dash := needDash(t)
	line, err := shell.Argv(words)
	if err != nil {
		t.Fatal(err)
	}
	got := dashWords(t, dash, line)
	if !equalWords(got, words) {
		for i := range words {
			if i >= len(got) || got[i] != words[i] {
				t.Errorf("word %d: dash read %q, want %q", i, got[min(i, len(got)-1)], words[i])
				break
			}
		}
		t.Fatalf("dash read %d words, want %d", len(got), len(words))
	}
}

// TestArgvInterp runs the rendered words through mvdan's interpreter with a
// recording exec handler, as the fidelity tests do.
func TestArgvInterp(t *testing.T) {
	var valid []string
	for _, w := range words {
		if utf8.ValidString(w) { // mvdan's parser refuses invalid UTF-8
			valid = append(valid, w)
		}
	}
	line, err := shell.Argv(append([]string{"ip"}, valid...))
	if err != nil {
		t.Fatal(err)
	}
	f, err := syntax.NewParser().Parse(strings.NewReader(line+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	r, err := interp.New(interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(_ context.Context, argv []string) error { got = argv; return nil }
	}), interp.OpenHandler(noWrites))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if !equalWords(got, append([]string{"ip"}, valid...)) {
		t.Fatalf("interp ran %q", got)
	}
}

func FuzzWordRoundTrip(f *testing.F) {
	for _, w := range words {
		f.Add(w, "")
		f.Add("ip", w+"\x1f"+w)
	}
	f.Add("a\x00", "b")
	f.Add("ip", "netns\x1fadd\x1fdemo")
	f.Fuzz(func(t *testing.T, first, rest string) {
		checkRoundTrip(t, append([]string{first}, strings.Split(rest, "\x1f")...))
	})
}

func TestCommandLine(t *testing.T) {
	got := shell.CommandLine([]string{"npte", "netns", "create", "a\nb", "x y", "a\x00"})
	if strings.ContainsAny(got, "\n\x00") {
		t.Errorf("CommandLine = %q, not one line", got)
	}
	if want := "npte netns create $'a\\nb' 'x y'"; !strings.HasPrefix(got, want) {
		t.Errorf("CommandLine = %q, want prefix %q", got, want)
	}
}

func BenchmarkArgv(b *testing.B) {
	argv := []string{"ip", "netns", "exec", "demo", "sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 131072 33554432", "it's #1"}
	for b.Loop() {
		if _, err := shell.Argv(argv); err != nil {
			b.Fatal(err)
		}
	}
}
