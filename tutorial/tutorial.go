// Package tutorial holds npte's tutorial: chapters written in Markdown,
// embedded in the binary, in the order of their file names
// (chapters/NN-slug.md). A chapter's slug is its file name without the
// number and the extension; its title is its first "# " heading.
//
// Every npte command line shown in a chapter is run by this package's
// tests (with --dry-run where the verb changes state), so the tutorial
// cannot drift away from the program.
package tutorial

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed chapters/*.md
var files embed.FS

// Chapter is one chapter of the tutorial.
type Chapter struct {
	Slug  string // e.g. "basics"
	Title string // the first "# " heading, without the "# "
	Text  string // the whole Markdown text
}

// Chapters returns every chapter, in order.
func Chapters() []Chapter {
	entries, err := files.ReadDir("chapters")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	out := make([]Chapter, 0, len(names))
	for _, n := range names {
		data, err := files.ReadFile(path.Join("chapters", n))
		if err != nil {
			panic(err)
		}
		out = append(out, parse(n, string(data)))
	}
	return out
}

func parse(name, text string) Chapter {
	slug := strings.TrimSuffix(name, ".md")
	if i := strings.IndexByte(slug, '-'); i >= 0 {
		slug = slug[i+1:]
	}
	title := slug
	for _, l := range strings.Split(text, "\n") {
		if t, ok := strings.CutPrefix(l, "# "); ok {
			title = strings.TrimSpace(t)
			break
		}
	}
	return Chapter{Slug: slug, Title: title, Text: text}
}

// Lookup returns the chapter named slug.
func Lookup(slug string) (Chapter, bool) {
	for _, c := range Chapters() {
		if c.Slug == slug {
			return c, true
		}
	}
	return Chapter{}, false
}

// Slugs returns the chapter slugs, in order.
func Slugs() []string {
	var out []string
	for _, c := range Chapters() {
		out = append(out, c.Slug)
	}
	return out
}

// Contents is the table of contents printed by `npte tutorial`.
func Contents() string {
	var b strings.Builder
	b.WriteString("npte tutorial: read a chapter with 'npte tutorial NUMBER' or 'npte tutorial NAME' (npte tutorial 1,\nnpte tutorial basics), or all of them with 'npte tutorial all'.\n\n")
	for i, c := range Chapters() {
		fmt.Fprintf(&b, "  %d. %-26s %s\n", i+1, c.Slug, c.Title)
	}
	return b.String()
}

// All is every chapter, separated by a rule.
func All() string {
	var parts []string
	for _, c := range Chapters() {
		parts = append(parts, strings.TrimRight(c.Text, "\n")+"\n")
	}
	return strings.Join(parts, "\n----------------------------------------------------------------------\n\n")
}

// Command is one npte command line shown in a chapter.
type Command struct {
	Chapter string   // the chapter's slug
	Line    int      // 1-based line number in the chapter
	Text    string   // the line as shown, without the "$ " prompt
	Args    []string // npte's arguments (without "sudo" and "npte")
	Sudo    bool     // the line runs npte through sudo
	Exit    int      // the exit status the chapter announces ("# exit N"), 0 otherwise
}
