package tutorial

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/shlex"
)

// Commands extracts the npte command lines of a chapter: inside fenced code
// blocks, the lines that start with the prompt "$ " and whose command is
// npte or sudo npte. Only the first command of a pipeline or list is kept,
// and redirections are dropped ("npte x --dry-run | sudo sh" gives
// "npte x --dry-run"). A trailing "# exit N" announces an exit status.
func Commands(c Chapter) ([]Command, error) {
	var out []Command
	inBlock := false
	for i, line := range strings.Split(c.Text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			continue
		}
		text, ok := strings.CutPrefix(trimmed, "$ ")
		if !ok {
			continue
		}
		cmd := Command{Chapter: c.Slug, Line: i + 1, Text: text}
		if j := strings.Index(text, "# exit "); j >= 0 {
			n, err := strconv.Atoi(strings.TrimSpace(text[j+len("# exit "):]))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: bad exit annotation: %q", c.Slug, i+1, text)
			}
			cmd.Exit = n
			text = text[:j]
		}
		for _, sep := range []string{" | ", " > ", " >> ", " && ", " ; ", " < "} {
			if j := strings.Index(text, sep); j >= 0 {
				text = text[:j]
			}
		}
		words, err := shlex.Split(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", c.Slug, i+1, err)
		}
		if len(words) > 0 && words[0] == "sudo" {
			cmd.Sudo = true
			words = words[1:]
		}
		if len(words) == 0 || words[0] != "npte" {
			continue
		}
		cmd.Args = words[1:]
		out = append(out, cmd)
	}
	if inBlock {
		return nil, fmt.Errorf("%s: unclosed code block", c.Slug)
	}
	return out, nil
}
