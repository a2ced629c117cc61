package cli

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/npte/npte/tutorial"
)

// NewParser returns a kong parser for npte's command tree, for tools that
// read the model (completion, the man page generator). Main builds its own,
// with the same name and description.
func NewParser(version string, opts ...kong.Option) (*kong.Kong, error) {
	base := []kong.Option{
		kong.Name("npte"),
		kong.Description(Description),
		vars(version),
	}
	return kong.New(&CLI{}, append(base, opts...)...)
}

// CompletionCmd is `npte completion SHELL`.
type CompletionCmd struct {
	Shell string `arg:"" optional:"" enum:"bash,zsh,fish," default:"" help:"bash, zsh or fish."`
	Line  string `name:"complete" hidden:"" help:"Print the completions of this command line (the cursor at its end); the scripts call it."`
}

// Help is the long help of completion.
func (c *CompletionCmd) Help() string {
	return `Prints a completion script for bash, zsh or fish. It completes verbs, flags, enum values,
tutorial chapters and, where a verb takes a namespace, the names of the namespaces npte
manages (read from /run/npte/netns without taking npte's lock, so it never waits).
The script asks npte itself for the completions, so they always match the binary.

  bash:  source <(npte completion bash)       or: npte completion bash > /etc/bash_completion.d/npte
  zsh:   source <(npte completion zsh)        (after compinit)
  fish:  npte completion fish | source        or: npte completion fish > ~/.config/fish/completions/npte.fish`
}

// Run implements the verb.
func (c *CompletionCmd) Run(app *App) error {
	if c.Line != "" {
		return app.complete(c.Line)
	}
	script, ok := completionScripts[c.Shell]
	if !ok {
		return Usagef("completion: name a shell: bash, zsh or fish")
	}
	_, err := io.WriteString(app.Env.Stdout, script)
	return err
}

// complete prints the completions of line, one per line.
func (a *App) complete(line string) error {
	words, err := a.Completions(line)
	if err != nil {
		return err
	}
	for _, w := range words {
		if _, err := fmt.Fprintln(a.Env.Stdout, w); err != nil {
			return err
		}
	}
	return nil
}

// Completions returns the sorted completions of a command line whose
// cursor is at its end. A leading "sudo" and the program word are skipped.
// Namespace arguments (tagged predictor:"netns") complete to the names of
// managed namespaces, read without npte's lock.
func (a *App) Completions(line string) ([]string, error) {
	parser, err := NewParser(a.Env.Version, kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) {}))
	if err != nil {
		return nil, err
	}
	chapters := append(tutorial.Slugs(), "all")
	cmd, err := kongplete.Command(parser,
		kongplete.WithPredictor("netns", complete.PredictFunc(func(complete.Args) []string {
			names, _ := a.Registry.List() // no lock: completion must never wait
			return names
		})),
		kongplete.WithPredictor("chapter", complete.PredictSet(chapters...)),
	)
	if err != nil {
		return nil, err
	}
	args := completionArgs(line)
	seen := map[string]bool{}
	var out []string
	for _, o := range cmd.Predict(args) {
		if strings.HasPrefix(o, args.Last) && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	sort.Strings(out)
	return out, nil
}

// completionArgs splits a command line the way a shell would (quotes and
// backslashes), drops everything up to the npte word, and marks the last
// word as the one being completed (empty after a trailing blank).
func completionArgs(line string) complete.Args {
	words := splitWords(line)
	if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") || line == "" {
		words = append(words, "")
	}
	start := 1
	for i, w := range words[:len(words)-1] {
		if path.Base(w) == "npte" {
			start = i + 1
			break
		}
	}
	if start > len(words)-1 {
		start = len(words) - 1
	}
	all := words[start:]
	completed := all[:len(all)-1]
	a := complete.Args{All: all, Completed: completed, Last: all[len(all)-1]}
	if len(completed) > 0 {
		a.LastCompleted = completed[len(completed)-1]
	}
	return a
}

func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// completionScripts are the scripts `npte completion SHELL` prints. Each
// asks the npte the user is typing (or /usr/local/sbin/npte, when that one
// is not in the user's PATH, as sbin often is not) for the completions.
var completionScripts = map[string]string{
	"bash": `# bash completion for npte.
# Load it with: source <(npte completion bash)
# or install it: npte completion bash > /etc/bash_completion.d/npte
_npte_complete() {
	local IFS=$'\n' npte="${COMP_WORDS[0]}"
	type -P -- "$npte" >/dev/null 2>&1 || npte=/usr/local/sbin/npte
	COMPREPLY=($("$npte" completion --complete "${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
}
complete -F _npte_complete npte
`,
	"zsh": `#compdef npte
# zsh completion for npte.
# Load it with: source <(npte completion zsh)
# or install it as _npte in a directory of your $fpath.
_npte() {
	local npte=${words[1]}
	(( $+commands[$npte] )) || [[ -x $npte ]] || npte=/usr/local/sbin/npte
	local -a replies
	replies=("${(@f)$("$npte" completion --complete "${(j: :)words[1,CURRENT]}" 2>/dev/null)}")
	compadd -- "${(@)replies:#}"
}
if (( $+functions[compdef] )); then
	compdef _npte npte
else
	print -u2 "npte completion: run 'autoload -Uz compinit && compinit' first"
fi
`,
	"fish": `# fish completion for npte.
# Load it with: npte completion fish | source
# or install it: npte completion fish > ~/.config/fish/completions/npte.fish
function __npte_complete
	set -l npte npte
	for word in (commandline -opc)
		if string match -q -- '*npte' $word
			set npte $word
			break
		end
	end
	command -q -- $npte; or set npte /usr/local/sbin/npte
	$npte completion --complete (commandline -cp) 2>/dev/null
end
complete -c npte -f -a '(__npte_complete)'
`,
}
