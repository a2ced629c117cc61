// Package uml boots a user-mode Linux kernel (Debian's user-mode-linux
// package: /usr/bin/linux.uml, modules under /usr/lib/uml/modules/VERSION)
// as an ordinary process, so that tests can run npte against a real kernel
// that has netem, cake, fq_codel and the rest, or that lacks some of them.
//
// The guest sees the host's root file system through hostfs, read-only
// ("rootfstype=hostfs rootflags=/ ro"): it cannot change a host file. Its
// init script (written by Boot into a temp dir of its own) mounts proc,
// sysfs and tmpfs on /run and /etc/netns, loads the modules asked
// for with `modprobe -d` from a module root made under the temp dir, runs
// the command, and powers off. The command's output comes back through a
// hostfs mount of one directory of that temp dir (the only host path the
// guest can write), its exit status as a sentinel line.
//
// The kernel cannot load modules by itself: the guest has no
// /lib/modules/VERSION, so only the modules listed in Options.Modules
// exist, which is how a test boots a kernel without IPv6 or without cake.
package uml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KernelPath is where Debian's user-mode-linux package installs the kernel.
const KernelPath = "/usr/bin/linux.uml"

// ModulesDir holds one directory per kernel version with its modules.
const ModulesDir = "/usr/lib/uml/modules"

// Sentinel starts the console line on which the init script reports the
// command's exit status: "NPTE-UML-STATUS N".
const Sentinel = "NPTE-UML-STATUS"

// StandardModules are the modules a full npte kernel needs: IPv6, veth,
// ifb, every qdisc, classifier and action npte renders, nftables with
// masquerade, and BBR.
var StandardModules = []string{
	"ipv6", "veth", "ifb", "sch_netem", "sch_tbf", "sch_cake", "sch_fq_codel",
	"sch_ingress", "cls_u32", "act_mirred", "nf_tables", "nft_masq",
	"tcp_bbr",
}

// Without returns StandardModules minus the names given.
func Without(names ...string) []string {
	var out []string
outer:
	for _, m := range StandardModules {
		for _, n := range names {
			if m == n {
				continue outer
			}
		}
		out = append(out, m)
	}
	return out
}

// Kernel returns the kernel binary and its module version, or an error
// saying what is missing.
func Kernel() (bin, version string, err error) {
	bin = KernelPath
	if p, err := exec.LookPath("linux.uml"); err == nil {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("%s is not installed (apt-get install user-mode-linux)", KernelPath)
	}
	ents, err := os.ReadDir(ModulesDir)
	if err != nil {
		return "", "", fmt.Errorf("no UML modules: %v (apt-get install user-mode-linux)", err)
	}
	for _, e := range ents {
		if e.IsDir() {
			version = e.Name()
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("no UML module tree under %s", ModulesDir)
	}
	return bin, version, nil
}

// Options describe one boot.
type Options struct {
	// Argv is the command the init script runs (absolute path first). It
	// sees the host's files read-only, root privileges inside the guest,
	// and the environment Env plus PATH and NPTE_UML_OUT (a writable
	// directory shared with the host).
	Argv []string
	Env  []string
	// Modules are loaded, in order, before Argv runs.
	Modules []string
	// Mem is the guest's memory ("512M" when empty).
	Mem string
	// Timeout bounds the whole boot (2 minutes when zero); the kernel's
	// process group is killed when it expires.
	Timeout time.Duration
}

// Result is what one boot gave back.
type Result struct {
	// Output is what Argv printed (stdout and stderr).
	Output string
	// Console is the kernel's console (boot messages, module loads).
	Console string
	// Status is Argv's exit status, or -1 when no sentinel came back.
	Status int
	// Elapsed is the wall time from start to power-off.
	Elapsed time.Duration
}

var sentinelRE = regexp.MustCompile(Sentinel + ` (-?\d+)`)

const initScript = `#!/bin/sh
# npte UML init: the host root is mounted read-only; everything written
# lives in guest tmpfs mounts (/run, /etc/netns, TMPDIR), except
# $NPTE_UML_OUT (a directory of the harness's own host temp dir).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
# /tmp stays the host's (read-only): the test binary, npte and this
# script live there. Scratch files go to TMPDIR, a guest tmpfs.
mkdir -p /run/tmp
TMPDIR=/run/tmp
export TMPDIR
if test -d /etc/netns; then
	# mode 0755: npte refuses a group- or world-writable /etc/netns.
	mount -t tmpfs -o mode=0755 tmpfs /etc/netns
else
	# No /etc/netns on the host: give the guest a writable copy of /etc.
	mkdir /run/etc && cp -a /etc/. /run/etc/ && mount --bind /run/etc /etc && mkdir -p /etc/netns
fi
test -e /dev/fd || ln -s /proc/self/fd /dev/fd
test -e /dev/stdin || ln -s /proc/self/fd/0 /dev/stdin
test -e /dev/stdout || ln -s /proc/self/fd/1 /dev/stdout
test -e /dev/stderr || ln -s /proc/self/fd/2 /dev/stderr
echo /bin/false >/proc/sys/kernel/modprobe
ip link set dev lo up
mount -t hostfs none "$NPTE_UML_OUT" -o "$NPTE_UML_OUT"
for m in $NPTE_UML_MODULES; do
	modprobe -d "$NPTE_UML_MODROOT" "$m" || echo "npte-uml: modprobe $m failed"
done
cd /run/tmp
. "$NPTE_UML_DIR/env"
"$@" >"$NPTE_UML_OUT/output" 2>&1 </dev/null
st=$?
sync
echo "` + Sentinel + ` $st"
echo o >/proc/sysrq-trigger
halt -f
`

// Boot runs o.Argv in a fresh UML kernel and waits for it to power off.
// An error means the kernel could not be run or timed out; a non-zero
// Status is the command's own failure.
func Boot(ctx context.Context, o Options) (Result, error) {
	res := Result{Status: -1}
	bin, version, err := Kernel()
	if err != nil {
		return res, err
	}
	if len(o.Argv) == 0 || !filepath.IsAbs(o.Argv[0]) {
		return res, errors.New("uml: Argv must start with an absolute path")
	}
	dir, err := os.MkdirTemp("", "npte-uml-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir) // our own temp dir only
	modroot := filepath.Join(dir, "modroot")
	out := filepath.Join(dir, "out")
	shm := filepath.Join(dir, "shm")
	for _, d := range []string{filepath.Join(modroot, "lib", "modules"), out, shm} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
	}
	if err := os.Symlink(filepath.Join(ModulesDir, version), filepath.Join(modroot, "lib", "modules", version)); err != nil {
		return res, err
	}
	var env strings.Builder
	for _, e := range o.Env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			return res, fmt.Errorf("uml: bad environment entry %q", e)
		}
		fmt.Fprintf(&env, "%s='%s'\nexport %s\n", k, strings.ReplaceAll(v, "'", `'\''`), k)
	}
	fmt.Fprintf(&env, "NPTE_UML_OUT='%s'\nexport NPTE_UML_OUT\n", out)
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(env.String()), 0o644); err != nil {
		return res, err
	}
	initPath := filepath.Join(dir, "init")
	// The init script takes Argv as its own arguments: the kernel passes
	// the words after "--" on its command line to init. Instead of
	// relying on that, a wrapper with the argv baked in is written.
	var wrapper strings.Builder
	wrapper.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&wrapper, "NPTE_UML_OUT='%s' NPTE_UML_DIR='%s' NPTE_UML_MODROOT='%s' NPTE_UML_MODULES='%s'\n", out, dir, modroot, strings.Join(o.Modules, " "))
	wrapper.WriteString("export NPTE_UML_OUT NPTE_UML_DIR NPTE_UML_MODROOT NPTE_UML_MODULES\n")
	wrapper.WriteString("exec /bin/sh " + filepath.Join(dir, "init.sh"))
	for _, a := range o.Argv {
		wrapper.WriteString(" '" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	wrapper.WriteString("\n")
	if err := os.WriteFile(filepath.Join(dir, "init.sh"), []byte(initScript), 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(initPath, []byte(wrapper.String()), 0o755); err != nil {
		return res, err
	}
	mem := o.Mem
	if mem == "" {
		mem = "512M"
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(bin, "mem="+mem, "rootfstype=hostfs", "rootflags=/", "ro",
		"init="+initPath, "con=null", "con0=null,fd:1", "quiet", "uml_dir="+dir)
	// UML keeps its pid file under uml_dir (default ~/.uml) and its
	// memory file under TMPDIR: both in our temp dir.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + shm, "HOME=" + dir}
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	// A process group of its own: UML forks helper processes, and all of
	// them (only them) are killed on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		werr = fmt.Errorf("uml: no power-off within %v (killed process group %d)", timeout, pgid)
	}
	// Helpers that outlive the kernel's main process belong to our group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	res.Elapsed = time.Since(start)
	res.Console = console.String()
	if b, err := os.ReadFile(filepath.Join(out, "output")); err == nil {
		res.Output = string(b)
	}
	if m := sentinelRE.FindStringSubmatch(res.Console); m != nil {
		res.Status, _ = strconv.Atoi(m[1])
		// After the sentinel the kernel powers off; how its process
		// ends (exit 0, or SIGABRT on some power-offs) says nothing.
		if ctx.Err() == nil {
			werr = nil
		}
	} else if werr == nil {
		werr = errors.New("uml: the kernel stopped without reporting a status")
	}
	if ctx.Err() != nil && werr == nil {
		werr = ctx.Err()
	}
	return res, werr
}
