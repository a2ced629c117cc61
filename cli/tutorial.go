package cli

import (
	"io"
	"strings"

	"github.com/npte/npte/tutorial"
)

// TutorialCmd is `npte tutorial [CHAPTER]`.
type TutorialCmd struct {
	Chapter string `arg:"" optional:"" predictor:"chapter" help:"A chapter (see the list), or 'all'."`
}

// Help is the long help of tutorial.
func (c *TutorialCmd) Help() string {
	return `Prints npte's tutorial, which is built into the binary. Without CHAPTER, the list of
chapters; with 'all', every chapter in order. Pipe it into a pager or a Markdown viewer:
npte tutorial basics | less. An unknown chapter is exit 2, with the list.`
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
		ch, ok := tutorial.Lookup(c.Chapter)
		if !ok {
			return Usagef("no tutorial chapter %q; the chapters are: %s (or all)", c.Chapter, strings.Join(tutorial.Slugs(), ", "))
		}
		text = ch.Text
	}
	_, err := io.WriteString(app.Env.Stdout, text)
	return err
}
