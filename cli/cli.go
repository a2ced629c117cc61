// Package cli is npte's command line: one struct per verb with a Run
// method (kong), the environment they run in, and the mapping from errors to
// exit codes (0 ok, 1 runtime failure, 2 usage, validation or ownership).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/render"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/validate"
)

// Env is everything npte takes from the outside world. main builds it from
// the process (DefaultEnv); tests build their own. It is the only place
// where the state layout can differ from shell.DefaultLayout, and no
// flag or environment variable reaches it.
type Env struct {
	Args    []string // command-line arguments, without the program name
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Euid    int
	Version string
	// Color enables colour on stderr (a terminal, and NO_COLOR unset).
	Color bool
	// Layout is the state layout; Owner the uid that must own it.
	Layout shell.Layout
	Owner  int
	// Dirs, Start, Exec and Signals are handed to exec.Runner (nil: real).
	Dirs    []string
	Start   exec.Starter
	Exec    exec.Handoff
	Signals chan os.Signal
	// BeforeStep is handed to exec.Runner (crash tests; nil in npte).
	BeforeStep func(index int)
	// LookupUser resolves a user name (os/user.Lookup).
	LookupUser func(string) (*user.User, error)
	// UserGroups lists a user's group ids ((*user.User).GroupIds when nil).
	UserGroups func(*user.User) ([]string, error)
	// Getwd returns the real working directory (RealWd): every symbolic
	// link resolved, never taken from $PWD.
	Getwd func() (string, error)
}

// RealWd returns the working directory with every symbolic link
// resolved, from the kernel's /proc/self/cwd. Unlike os.Getwd it never
// believes $PWD, which the caller sets: a PWD naming a symbolic link to
// the real directory would otherwise pass for the directory itself.
func RealWd() (string, error) {
	return filepath.EvalSymlinks("/proc/self/cwd")
}

// DefaultEnv is the environment of a real npte process.
func DefaultEnv(version string) Env {
	color := os.Getenv("NO_COLOR") == "" && isTerminal(os.Stderr)
	return Env{
		Args:       os.Args[1:],
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Euid:       os.Geteuid(),
		Version:    version,
		Color:      color,
		Layout:     shell.DefaultLayout(),
		Owner:      0,
		LookupUser: user.Lookup,
		UserGroups: (*user.User).GroupIds,
		Getwd:      RealWd,
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// CLI is npte's command tree. Main builds kong's model of only the verb a
// command line names (see root).
type CLI struct {
	Globals
	Netns       NetnsCmd      `cmd:"" help:"Create, wire, inspect and destroy npte's network namespaces."`
	Netem       NetemCmd      `cmd:"" help:"Shape a link: delay, loss, rate caps (netem, tbf, cake), egress or ingress."`
	Lab         LabCmd        `cmd:"" help:"Labs from a file (check, plan, apply, show, graph, destroy), and the built-in client/router/server lab with its link profiles."`
	Gateway     GatewayCmd    `cmd:"" help:"Give a namespace a NAT'd uplink through the host (not for NOPASSWD)."`
	Container   ContainerCmd  `cmd:"" help:"Debian trees (debootstrap) run with systemd-nspawn inside a lab namespace (not for NOPASSWD)."`
	Gencerts    GencertsCmd   `cmd:"" help:"Write a CA and a server certificate for a lab's HTTPS server (no root needed)."`
	Mcp         McpCmd        `cmd:"" name:"mcp" help:"Let a coding agent drive labs: a Model Context Protocol server (run as the user)."`
	Sudoers     SudoersCmd    `cmd:"" help:"Print a sudoers snippet that lets a user run the namespace verbs."`
	Doctor      DoctorCmd     `cmd:"" help:"Check the programs and kernel features npte needs."`
	Tutorial    TutorialCmd   `cmd:"" help:"Read npte's tutorial."`
	Completion  CompletionCmd `cmd:"" help:"Print a shell completion script (bash, zsh, fish)."`
	HelpVerb    HelpCmd       `cmd:"" name:"help" help:"Print npte's usage, or a verb's: npte help netns create."`
	VersionVerb VersionCmd    `cmd:"" name:"version" help:"Print npte's version (as --version does)."`
}

// Globals are the flags of the root command.
type Globals struct {
	Version kong.VersionFlag `help:"Print npte's version and exit."`
}

// HelpCmd is `npte help [VERB...]`. Main turns it into `npte VERB...
// --help` before parsing, so its Run only serves a command line that
// reaches it some other way.
type HelpCmd struct {
	Verb []string `arg:"" optional:"" help:"A verb, e.g. netns create."`
}

// Run implements the verb.
func (c *HelpCmd) Run(app *App) error {
	env := app.Env
	env.Args = append(append([]string(nil), c.Verb...), "--help")
	if code := Main(env); code != 0 {
		return &exitCode{code}
	}
	return nil
}

// exitCode is an exit code already reported on stderr.
type exitCode struct{ code int }

// Error is empty: the message was printed already.
func (e *exitCode) Error() string { return "" }

// VersionCmd is `npte version`.
type VersionCmd struct{}

// Run implements the verb.
func (c *VersionCmd) Run(app *App) error {
	_, err := fmt.Fprintf(app.Env.Stdout, "npte %s\n", app.Env.Version)
	return err
}

// root returns the command tree to parse args with. Building kong's model
// by reflection is most of npte's start-up work, and a command line only
// ever runs one verb, so when args name a top-level command (and, for a
// group, one of its verbs), root builds a tree of just that path: the root
// flags, the command, and only the named verb. Otherwise (no verb, a flag,
// a typo) it returns the whole tree, so that help and "unexpected
// argument" errors list every choice.
//
// Measured (perf stat -r 100, `npte netns create x --dry-run`, 2-core VM,
// 3 rounds): 5.3 ms with this one-verb model, 8.5 ms with the whole tree;
// it buys about 3 ms of a 5 ms start.
func root(args []string) any {
	if len(args) == 0 {
		return &CLI{}
	}
	top, ok := command(reflect.TypeOf(CLI{}), args[0])
	if !ok {
		return &CLI{}
	}
	if len(args) > 1 && top.Type.Kind() == reflect.Struct {
		if verb, ok := command(top.Type, args[1]); ok {
			top.Type = reflect.StructOf([]reflect.StructField{verb})
		}
	}
	top.Index, top.Offset = nil, 0
	return reflect.New(reflect.StructOf([]reflect.StructField{
		{Name: "Globals", Type: reflect.TypeOf(Globals{}), Anonymous: true},
		top,
	})).Interface()
}

// command finds the field of struct type t (or of the structs embedded in
// it) that declares the kong command called name.
func command(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if c, ok := command(f.Type, name); ok {
				return c, true
			}
			continue
		}
		if _, isCmd := f.Tag.Lookup("cmd"); !isCmd {
			continue
		}
		n, ok := f.Tag.Lookup("name")
		if !ok {
			n = strings.ToLower(f.Name)
		}
		if n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// DryRun is the --dry-run flag shared by every verb that changes state.
type DryRun struct {
	DryRun bool `short:"n" help:"Print the POSIX sh script this command would run, and change nothing."`
}

// App is what every verb's Run method receives.
type App struct {
	Env      Env
	Registry *registry.Registry
	ctx      context.Context
}

// UsageError is bad input: exit 2, one line.
type UsageError struct{ Err error }

// Error returns the message of the wrapped error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// Usage wraps err (if not nil) as a UsageError.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{err}
}

// Usagef is a formatted UsageError.
func Usagef(format string, args ...any) error { return &UsageError{fmt.Errorf(format, args...)} }

// Context returns the context of this run.
func (a *App) Context() context.Context { return a.ctx }

// Runner returns an exec.Runner for this environment.
func (a *App) Runner() *exec.Runner {
	return &exec.Runner{
		Registry:   a.Registry,
		Stdout:     a.Env.Stdout,
		Stderr:     a.Env.Stderr,
		Color:      a.Env.Color,
		Dirs:       a.Env.Dirs,
		Start:      a.Env.Start,
		Exec:       a.Env.Exec,
		Signals:    a.Env.Signals,
		BeforeStep: a.Env.BeforeStep,
	}
}

// RenderOptions are the options for rendering in this environment.
func (a *App) RenderOptions() render.Options {
	return render.Options{Layout: a.Env.Layout, Version: a.Env.Version, Owner: a.Env.Owner}
}

// Apply renders p on stdout (dry) or runs it live.
func (a *App) Apply(p plan.Plan, dry bool) error {
	if dry {
		s, err := render.Script(p, a.RenderOptions())
		if err != nil {
			return Usage(err)
		}
		_, err = io.WriteString(a.Env.Stdout, s)
		return err
	}
	if err := a.RequireRoot(); err != nil {
		return err
	}
	return a.Runner().Run(a.ctx, p)
}

// RequireRoot refuses a live run without root, before anything happens.
func (a *App) RequireRoot() error {
	if a.Env.Euid != 0 {
		return Usagef("this command changes kernel state and needs root: run it with sudo, or add --dry-run to print the script")
	}
	return nil
}

// RequireRootToRead refuses a read-only verb without root, before
// anything happens. Such a verb changes nothing and takes no --dry-run,
// so RequireRoot's advice would be wrong: the message says that it only
// reads, why reading needs root (what, e.g. "reading the qdiscs of
// namespace NS (tc -n NS)"), and the command line to run instead.
func (a *App) RequireRootToRead(verb, what string) error {
	if a.Env.Euid != 0 {
		return Usagef("%s only reads and changes nothing, but %s needs root: run it with sudo: %s",
			verb, what, shell.CommandLine(append([]string{"sudo", "npte"}, a.Env.Args...)))
	}
	return nil
}

// Description is npte's description in --help and the man page.
const Description = "npte builds isolated network labs on one Linux host: namespaces, veth links, addresses, routes, shaping and a NAT'd uplink. Every verb that changes state takes --dry-run and prints the exact POSIX sh script it would run.\n\nStart with: npte lab create --dry-run, or npte tutorial."

// vars are the variables of npte's kong tags.
func vars(version string) kong.Vars {
	return kong.Vars{"version": "npte " + version, "install_path": DefaultInstallPath}
}

// Main runs npte with env and returns the exit code.
func Main(env Env) (code int) {
	type exitPanic int
	defer func() {
		if r := recover(); r != nil {
			if c, ok := r.(exitPanic); ok {
				code = int(c)
				return
			}
			panic(r)
		}
	}()
	args := env.Args
	switch {
	case len(args) == 0:
		// Bare npte prints its usage, as npte --help does.
		args = []string{"--help"}
	case args[0] == "help":
		// npte help VERB... is npte VERB... --help.
		args = append(append([]string(nil), args[1:]...), "--help")
	}
	parser, err := kong.New(root(args),
		kong.Name("npte"),
		kong.Description(Description),
		kong.Writers(env.Stdout, env.Stderr),
		kong.Exit(func(c int) { panic(exitPanic(c)) }),
		vars(env.Version),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
	)
	if err != nil {
		fmt.Fprintf(env.Stderr, "npte: internal error: %v\n", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	var invalid *validate.Error
	if errors.As(err, &invalid) {
		if asksHelp(args) {
			// npte netns create NAME --help: the help, whatever NAME is.
			env.Args = append(strings.Fields(helpPath(err))[1:], "--help")
			return Main(env)
		}
		// A typed value (package validate) refused its text: the message
		// names the value and the rule, as a verb's own refusals do.
		fmt.Fprintf(env.Stderr, "npte: %s\n", oneLine(invalid.Error()))
		return exec.ExitUsage
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "npte: %s (see '%s --help')\n", oneLine(err.Error()), helpPath(err))
		return exec.ExitUsage
	}
	reg := registry.New(env.Layout, env.Owner)
	reg.Stderr = env.Stderr // "waiting for the lock, held by pid N"
	app := &App{Env: env, Registry: reg, ctx: context.Background()}
	err = kctx.Run(app)
	return report(env, err)
}

// asksHelp reports whether args hold -h or --help before any "--".
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help":
			return true
		}
	}
	return false
}

// helpPath is the command whose --help a parse error points to: the
// deepest verb the command line reached ("npte netns create"), else npte.
func helpPath(err error) string {
	words := []string{"npte"}
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		for _, p := range pe.Context.Path {
			if p.Command != nil {
				words = append(words, p.Command.Name)
			}
		}
	}
	return strings.Join(words, " ")
}

// oneLine makes a message one printable line: newlines, other control
// and format characters (terminal escapes, U+2028, U+202E...) and invalid
// UTF-8 from a user's value are escaped as in Go strings (\n, \x1b, \xff).
func oneLine(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && len(s[i:]) > 0 && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r) && r != ' ':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// report prints err and returns its exit code.
func report(env Env, err error) int {
	if err == nil {
		return 0
	}
	var se *exec.StepError
	var ue *UsageError
	var ec *exitCode
	switch {
	case errors.As(err, &ec):
		return ec.code
	case errors.As(err, &se):
		fmt.Fprintf(env.Stderr, "npte: %s\n", se.Error())
		return se.Code
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "npte: %s\n", oneLine(ue.Error()))
		return exec.ExitUsage
	case errors.Is(err, registry.ErrNotManaged), errors.Is(err, registry.ErrUnsafe):
		fmt.Fprintf(env.Stderr, "npte: %s\n", oneLine(err.Error()))
		return exec.ExitUsage
	default:
		fmt.Fprintf(env.Stderr, "npte: %s\n", oneLine(err.Error()))
		return exec.ExitFailure
	}
}
