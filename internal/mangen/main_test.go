package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/npte/npte/cli"
)

func page(t *testing.T) (string, *kong.Kong) {
	t.Helper()
	parser, err := cli.NewParser("", kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := write(&b, parser.Model); err != nil {
		t.Fatal(err)
	}
	return b.String(), parser
}

func TestPageListsEveryVerb(t *testing.T) {
	out, parser := page(t)
	again, _ := page(t)
	if out != again {
		t.Error("the page is not deterministic")
	}
	n := 0
	for _, leaf := range parser.Model.Leaves(true) {
		n++
		if !strings.Contains(out, `.SS "npte `+esc(leaf.Path())+`"`) {
			t.Errorf("no section for npte %s", leaf.Path())
		}
		for _, f := range leaf.Flags {
			if !f.Hidden && !strings.Contains(out, `\fB\-\-`+esc(f.Name)+`\fR`) {
				t.Errorf("npte %s: flag --%s missing", leaf.Path(), f.Name)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d verbs", n)
	}
	for _, s := range []string{".SH NAME", ".SH SYNOPSIS", ".SH EXIT STATUS", ".SH DRY-RUN SCRIPTS", ".SH SECURITY", ".SH ENVIRONMENT", ".SH FILES", ".SH EXAMPLES", ".SH SEE ALSO"} {
		if !strings.Contains(out, s+"\n") {
			t.Errorf("no %s", s)
		}
	}
	for i, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "'") {
			t.Errorf("line %d starts with a quote (a roff request): %q", i+1, l)
		}
	}
}

// TestText: an indented block right after a paragraph's line is an
// example (no fill), while indented lines after a bullet's first line
// continue the bullet.
func TestText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"paragraph then example", "Runs:\n  tc qdisc del dev X root\n  tc qdisc del dev X ingress\nThen more.",
			"Runs:\n.PP\n.in +4n\n.nf\ntc qdisc del dev X root\ntc qdisc del dev X ingress\n.fi\n.in\n.PP\nThen more.\n"},
		{"bullet continued", "- one two\n  three\n- four",
			".IP \\(bu 2\none two three\n.IP \\(bu 2\nfour\n"},
		{"bullet then paragraph then example", "- one\n\nRuns:\n  ip link",
			".IP \\(bu 2\none\n.PP\nRuns:\n.PP\n.in +4n\n.nf\nip link\n.fi\n.in\n"},
		{"escapes", "a --flag\n.dot", "a \\-\\-flag .dot\n"},
		{"example line starting with a dot", "Run:\n  .hidden", "Run:\n.PP\n.in +4n\n.nf\n\\&.hidden\n.fi\n.in\n"},
		{"blank line before bullets", "Allows:\n\n- one", "Allows:\n.IP \\(bu 2\none\n"},
	} {
		var w strings.Builder
		text(&w, tc.in)
		if w.String() != tc.want {
			t.Errorf("%s: text(%q) =\n%s\nwant\n%s", tc.name, tc.in, w.String(), tc.want)
		}
	}
}

// TestExamplesParse: every npte command line of EXAMPLES parses as the
// command tree says (a renamed verb or flag fails here).
func TestExamplesParse(t *testing.T) {
	_, parser := page(t)
	n := 0
	for _, l := range strings.Split(examples, "\n") {
		words := strings.Fields(l)
		if i := indexOf(words, ">"); i >= 0 {
			words = words[:i]
		}
		if len(words) > 0 && words[0] == "sudo" {
			words = words[1:]
		}
		if len(words) == 0 || words[0] != "npte" {
			continue
		}
		n++
		if _, err := parser.Parse(words[1:]); err != nil {
			t.Errorf("%q: %v", strings.TrimSpace(l), err)
		}
	}
	if n < 5 {
		t.Errorf("only %d npte command lines in EXAMPLES", n)
	}
}

func indexOf(s []string, w string) int {
	for i, x := range s {
		if x == w {
			return i
		}
	}
	return -1
}

func TestEsc(t *testing.T) {
	cases := map[string]string{
		"--dry-run":       `\-\-dry\-run`,
		`a\b`:             `a\eb`,
		".hidden\n'quote": "\\&.hidden\n\\&'quote",
	}
	for in, want := range cases {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPageLints checks the page with groff's and mandoc's warnings, where
// they are installed.
func TestPageLints(t *testing.T) {
	out, _ := page(t)
	ran := false
	if groff, err := exec.LookPath("groff"); err == nil {
		ran = true
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(out)
		if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
			t.Errorf("groff -ww: %v\n%s", err, msg)
		}
	}
	if mandoc, err := exec.LookPath("mandoc"); err == nil {
		ran = true
		cmd := exec.Command(mandoc, "-Tlint", "-Wwarning")
		cmd.Stdin = strings.NewReader(out)
		msg, _ := cmd.CombinedOutput()
		for _, l := range strings.Split(strings.TrimSpace(string(msg)), "\n") {
			// The page carries no date, so that it is reproducible.
			if l != "" && !strings.Contains(l, "missing date") {
				t.Errorf("mandoc: %s", l)
			}
		}
	}
	if !ran {
		t.Skip("neither groff nor mandoc is installed")
	}
}
