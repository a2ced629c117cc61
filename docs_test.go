package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/alecthomas/kong"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/topology"
)

// readmeLimit is the README's size limit in bytes: a newcomer's page (the
// verb reference is in the man page and the tutorial, the rest in
// TESTING.md, ARCHITECTURE.md and bench/README.md).
const readmeLimit = 15000

// openingCommands are the README's first two commands, in this order: the
// first builds npte and runs its main job on the built-in default, the
// second runs the tests. Both must work verbatim on a fresh Debian machine
// with Go in /usr/local/go (TestMakefileFindsGo, TestSudoMakeFindsGo).
var openingCommands = []string{
	"go build -o npte . && sudo ./npte lab create",
	"sudo make test",
}

// TestReadmeSize keeps the README at newcomer size.
func TestReadmeSize(t *testing.T) {
	fi, err := os.Stat("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= readmeLimit {
		t.Errorf("README.md is %d bytes, the limit is %d: move reference material to the man page (internal/mangen, a verb's Help), the tutorial, TESTING.md, ARCHITECTURE.md or bench/README.md", fi.Size(), readmeLimit)
	}
	t.Logf("README.md: %d bytes (limit %d)", fi.Size(), readmeLimit)
}

// TestReadmeOpeningCommands: the first two commands of the README are
// openingCommands, before any other code block, and the verb of the first
// is one npte has.
func TestReadmeOpeningCommands(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := codeBlocks(string(data))
	if len(blocks) == 0 {
		t.Fatal("README.md has no code block")
	}
	var cmds []string
	for _, l := range blocks[0] {
		if c := strings.TrimSpace(stripComment(l)); c != "" {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < len(openingCommands) {
		t.Fatalf("README.md's first code block has %d commands, want at least %d: %q", len(cmds), len(openingCommands), cmds)
	}
	for i, want := range openingCommands {
		if cmds[i] != want {
			t.Errorf("README.md's command %d is %q, want %q", i+1, cmds[i], want)
		}
	}
	parser, err := cli.NewParser("", kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"lab", "create", "--dry-run"}); err != nil {
		t.Errorf("npte lab create --dry-run does not parse: %v", err)
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^test:`).Match(mk) {
		t.Error("the Makefile has no test target")
	}
}

// TestMarkdownLinks: every relative link in every Markdown file of the
// module (outside testdata and hidden directories) names a file or
// directory that exists, and its #anchor, if any, a heading of the target.
func TestMarkdownLinks(t *testing.T) {
	files, checked := 0, 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".md") {
			return nil
		}
		files++
		problems, n, err := checkLinks(path)
		if err != nil {
			return err
		}
		checked += n
		for _, p := range problems {
			t.Error(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Errorf("only %d relative links in %d Markdown files: is the link parser broken?", checked, files)
	}
	t.Logf("%d relative links in %d Markdown files", checked, files)
}

// TestCheckLinks proves that checkLinks finds what it should, on files of
// its own.
func TestCheckLinks(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.md": "# Title here\n\n## Quick start: the lab\n\n" +
			"[ok](b.md) [ok](b.md#second-part) [ok](#quick-start-the-lab) [ok](sub/) " +
			"[ext](https://example.com/x.md) [mail](mailto:a@b) `[code](nothere.md)`\n" +
			"```\n[in a block](nothere.md)\n```\n" +
			"[bad file](missing.md) [bad anchor](b.md#nope) [bad self](#nope)\n" +
			"[ref]: c.md\n",
		"b.md":       "# B\n\n## Second part\n",
		"sub/x.txt":  "",
		"c/keep.txt": "",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems, n, err := checkLinks(filepath.Join(dir, "a.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("checked %d relative links, want 8", n)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p[strings.Index(p, ": ")+2:])
	}
	want := []string{
		`missing.md: no such file`,
		`b.md#nope: no heading "nope" in b.md`,
		`#nope: no heading "nope" in a.md`,
		`c.md: no such file`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Quick start: the built-in lab":                        "quick-start-the-built-in-lab",
		"npte — network labs you can read before you run them": "npte--network-labs-you-can-read-before-you-run-them",
		"Uplink through the host (gateway)":                    "uplink-through-the-host-gateway",
		"`netns run` and --sandbox":                            "netns-run-and---sandbox",
		"What npte guarantees":                                 "what-npte-guarantees",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

var (
	// inlineLink matches [text](target) and ![alt](target); the target
	// ends at whitespace (a title may follow) or the closing parenthesis.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refLink matches a reference definition: [label]: target
	refLink   = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpan  = regexp.MustCompile("`+[^`]*`+")
	hasScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkLinks returns one line per broken relative link of the Markdown
// file path, and how many relative links it checked.
func checkLinks(path string) (problems []string, checked int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	fence := ""
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if f := fenceOf(trimmed); f != "" && (fence == "" || strings.HasPrefix(trimmed, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		var targets []string
		if m := refLink.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, m := range inlineLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if hasScheme.MatchString(target) || strings.HasPrefix(target, "//") {
				continue
			}
			checked++
			if p := checkTarget(path, target); p != "" {
				problems = append(problems, path+":"+strconv.Itoa(i+1)+": "+target+": "+p)
			}
		}
	}
	return problems, checked, nil
}

// checkTarget checks one relative link of the file from; it returns what
// is wrong with it, or "".
func checkTarget(from, target string) string {
	file, anchor, _ := strings.Cut(target, "#")
	dest := from
	if file != "" {
		dest = filepath.Join(filepath.Dir(from), filepath.FromSlash(file))
		if _, err := os.Stat(dest); err != nil {
			return "no such file"
		}
	}
	if anchor == "" || !strings.HasSuffix(dest, ".md") {
		return ""
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		return err.Error()
	}
	if !headings(string(data))[anchor] {
		return `no heading "` + anchor + `" in ` + filepath.Base(dest)
	}
	return ""
}

// headings returns the anchors GitHub makes for the ATX headings of a
// Markdown text (a repeated heading gets -1, -2, ...).
func headings(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if f := fenceOf(trimmed); f != "" && (fence == "" || strings.HasPrefix(trimmed, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			continue
		}
		if fence != "" || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimLeft(line, "#")
		if len(line)-len(h) > 6 || (h != "" && h[0] != ' ') {
			continue
		}
		s := slug(strings.TrimSpace(h))
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// slug is GitHub's anchor of a heading: lower case, spaces become "-",
// and everything but letters, digits, "-" and "_" is dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fenceOf returns the fence (``` or ~~~) a trimmed line opens or closes.
func fenceOf(trimmed string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(trimmed, f) {
			return f
		}
	}
	return ""
}

// codeBlocks returns the lines of each fenced code block of a Markdown text.
func codeBlocks(text string) [][]string {
	var out [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(text, "\n") {
		if fenceOf(strings.TrimSpace(line)) != "" {
			if in {
				out = append(out, cur)
				cur = nil
			}
			in = !in
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	return out
}

// stripComment drops a trailing "# comment" (a "#" after a space) from a
// shell line.
func stripComment(line string) string {
	if i := strings.Index(line, " #"); i >= 0 {
		return line[:i]
	}
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return ""
	}
	return line
}

// TestReadmeLabFilesCheck: every YAML block of the README is a lab file
// that `npte lab check` accepts, and every example under examples/ too.
func TestReadmeLabFilesCheck(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1)
	if len(blocks) == 0 {
		t.Fatal("the README shows no lab file (its quick start leads with one)")
	}
	for i, b := range blocks {
		if _, err := topology.LoadBytes("README.md block "+strconv.Itoa(i+1), b[1]); err != nil {
			t.Errorf("README's lab file %d: %v", i+1, err)
		}
	}
	examples, _ := filepath.Glob("examples/*.yaml")
	if len(examples) < 6 {
		t.Errorf("examples/ has %d lab files, want at least 6", len(examples))
	}
	for _, e := range examples {
		if _, err := topology.Load(e); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}
