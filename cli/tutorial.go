package cli

import (
	"io"
	"strconv"
	"strings"

	"github.com/npte/npte/tutorial"
)

// TutorialCmd is `npte tutorial [CHAPTER]`.
type TutorialCmd struct {
	Chapter string `arg:"" optional:"" predictor:"chapter" help:"A chapter by name or by its number in the list, or 'all'."`
}

// Help is the long help of tutorial.
func (c *TutorialCmd) Help() string {
	return `Prints npte's tutorial, which is built into the binary. Without CHAPTER, the numbered
list of chapters; CHAPTER is a name or a number from that list (npte tutorial 3); with
'all', every chapter in order. Pipe it into a pager or a Markdown viewer:
npte tutorial basics | less. An unknown chapter is exit 2, with the list.`
}

// chapter finds a chapter by slug or by its 1-based number in the list.
func chapter(name string) (tutorial.Chapter, bool) {
	if ch, ok := tutorial.Lookup(name); ok {
		return ch, true
	}
	chapters := tutorial.Chapters()
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(chapters) && name == strconv.Itoa(n) {
		return chapters[n-1], true
	}
	return tutorial.Chapter{}, false
}

// Run implements the verb.
func (c *TutorialCmd) Run(app *App) error {
	var text string
	switch c.Chapter {
	case "":
		text = tutorial.Contents()
	case "all":
		text = tutorial.All()
	default:
		ch, ok := chapter(c.Chapter)
		if !ok {
			return Usagef("no tutorial chapter %q; the chapters are 1 to %d: %s (or all)", c.Chapter, len(tutorial.Slugs()), strings.Join(tutorial.Slugs(), ", "))
		}
		text = ch.Text
	}
	_, err := io.WriteString(app.Env.Stdout, text)
	return err
}
