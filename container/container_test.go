package container_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/npte/npte/container"
	"github.com/npte/npte/plan"
)

func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"suite bookworm", container.Suite("bookworm"), true},
		{"suite noble", container.Suite("noble"), true},
		{"suite bookworm-updates", container.Suite("bookworm-updates"), false},
		{"suite Bookworm", container.Suite("Bookworm"), false},
		{"suite 1x", container.Suite("1x"), false},
		{"suite empty", container.Suite(""), false},
		{"suite long", container.Suite(strings.Repeat("a", 33)), false},
		{"package iproute2", container.Package("iproute2"), true},
		{"package libstdc++6", container.Package("libstdc++6"), true},
		{"package g++-12", container.Package("g++-12"), true},
		{"package -rf", container.Package("-rf"), false},
		{"package a", container.Package("a"), false},
		{"package Upper", container.Package("Upper"), false},
		{"package a,b", container.Package("a,b"), false},
		{"package a b", container.Package("a b"), false},
		{"rootfs ok", container.Rootfs("/var/lib/machines/deb"), true},
		{"rootfs /", container.Rootfs("/"), false},
		{"rootfs relative", container.Rootfs("machines/deb"), false},
		{"rootfs dotdot", container.Rootfs("/var/lib/../../etc"), false},
		{"rootfs trailing", container.Rootfs("/var/lib/machines/"), false},
		{"rootfs proc", container.Rootfs("/proc/1/root"), false},
		{"rootfs run", container.Rootfs("/run"), false},
		{"rootfs runx", container.Rootfs("/runx/tree"), true},
		{"rootfs colon", container.Rootfs("/srv/a:b"), false},
		{"rootfs newline", container.Rootfs("/srv/a\nb"), false},
		{"capability", container.Capability("CAP_NET_ADMIN"), true},
		{"capability all", container.Capability("all"), false},
		{"capability lower", container.Capability("cap_net_admin"), false},
		{"capability list", container.Capability("CAP_NET_ADMIN,CAP_SYS_ADMIN"), false},
		{"variant minbase", container.Variant("minbase"), true},
		{"variant fakechroot", container.Variant("fakechroot"), false},
	} {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, tc.err, tc.ok)
		}
	}
}

func TestParseBind(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" = refused
	}{
		{"/srv/www", "/srv/www"},
		{"/srv/www:/var/www", "/srv/www:/var/www"},
		{"/dev/net/tun", "/dev/net/tun"},
		{"/srv/www:/srv/www", "/srv/www"},
		{"/srv/www:/var/www:rbind", ""},
		{"/srv/www:", ""},
		{":/var/www", ""},
		{"+/srv", ""},
		{"-/srv", ""},
		{"/", ""},
		{"/:/host", ""},
		{"/srv:/", ""},
		{"/srv/../etc", ""},
		{"/srv/a\\:b", ""},
		{"/srv/a,b", ""},
		{"srv", ""},
		{"", ""},
	} {
		b, err := container.ParseBind(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseBind(%q) = %q, want a refusal", tc.in, b)
		case tc.want != "" && err != nil:
			t.Errorf("ParseBind(%q): %v", tc.in, err)
		case tc.want != "" && b.String() != tc.want:
			t.Errorf("ParseBind(%q) = %q, want %q", tc.in, b, tc.want)
		}
	}
}

func TestPlans(t *testing.T) {
	c, err := container.NewCreate("bookworm", "/var/lib/machines/deb", "minbase", []string{"iproute2", "systemd,dbus", "iproute2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.DebootstrapArgv(), " "); got != "debootstrap --variant=minbase --include=iproute2,systemd,dbus bookworm /var/lib/machines/deb" {
		t.Errorf("debootstrap argv %q", got)
	}
	p := container.CreatePlan(c)
	if len(p.Steps) != 2 || p.Steps[0] != (plan.RequireRootfs{Path: "/var/lib/machines/deb", Fresh: true}) {
		t.Errorf("create plan %#v", p.Steps)
	}
	for _, tc := range []struct {
		netns string
		boot  bool
		cmd   []string
		want  string
		steps int
	}{
		{"server", false, []string{"ip", "-br", "addr"}, "systemd-nspawn --quiet --register=no --keep-unit --directory=/t --network-namespace-path=/run/netns/server --capability=CAP_NET_ADMIN --bind=/srv:/mnt --setenv=TERM=xterm -- ip -br addr", 5},
		{"", false, nil, "systemd-nspawn --quiet --register=no --keep-unit --directory=/t --private-network --capability=CAP_NET_ADMIN --bind=/srv:/mnt --setenv=TERM=xterm", 2},
		{"client", true, nil, "systemd-nspawn --quiet --register=no --keep-unit --boot --directory=/t --network-namespace-path=/run/netns/client --capability=CAP_NET_ADMIN --bind=/srv:/mnt --setenv=TERM=xterm", 5},
	} {
		s, err := container.NewSpawn("/t", tc.netns, []string{"/srv:/mnt"}, []string{"CAP_NET_ADMIN", "CAP_NET_ADMIN"}, "xterm", tc.boot, tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		p := container.SpawnPlan(s)
		last := p.Steps[len(p.Steps)-1].(plan.Command)
		if got := strings.Join(last.Argv, " "); got != tc.want || !last.Handoff || len(p.Steps) != tc.steps {
			t.Errorf("spawn %+v:\n got %q (%d steps, handoff %v)\nwant %q", tc, got, len(p.Steps), last.Handoff, tc.want)
		}
		if tc.netns != "" && p.Steps[1] != (plan.RequireManaged{Name: tc.netns}) {
			t.Errorf("no marker check of %s: %#v", tc.netns, p.Steps)
		}
	}
	if _, err := container.NewSpawn("/t", "", nil, nil, "", true, []string{"sh"}); err == nil {
		t.Error("boot with a command accepted")
	}
	if s, _ := container.NewSpawn("/t", "", nil, nil, "xterm;id", false, nil); s.Term != "" {
		t.Errorf("hostile TERM passed on: %q", s.Term)
	}
}

func TestChain(t *testing.T) {
	got := strings.Join(plan.RequireRootfs{Path: "/var/lib/machines/deb"}.Chain(), " ")
	if got != "/ /var /var/lib /var/lib/machines /var/lib/machines/deb" {
		t.Errorf("chain %q", got)
	}
}

// safeWord: what a validator accepts never starts with "-" and holds no
// space, control character, quote, shell metacharacter or backslash.
func safeWord(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("'\"`$;&|<>()*?[]{}~!#\\=%,", r) || r > unicode.MaxASCII && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// FuzzValidators checks the invariants of every container validator on
// arbitrary input: accepted values are safe words, rootfs and bind sides
// are absolute and clean, a bind has at most two sides.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"bookworm", "/var/lib/machines/x", "/srv:/mnt", "CAP_NET_ADMIN", "iproute2", "-rf", "/a/../b", "a b", "/x:/y:rbind", "$(id)", "/proc/x", "\x00", "g++"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if container.Suite(s) == nil && !safeWord(s) {
			t.Errorf("Suite accepted %q", s)
		}
		if container.Package(s) == nil && (!safeWord(s) || strings.ContainsAny(s, "/:")) {
			t.Errorf("Package accepted %q", s)
		}
		if container.Capability(s) == nil && !strings.HasPrefix(s, "CAP_") {
			t.Errorf("Capability accepted %q", s)
		}
		if container.Rootfs(s) == nil {
			if !safeWord(strings.ReplaceAll(s, " ", "_")) || s == "/" || strings.Contains(s, "/../") || strings.HasSuffix(s, "/") || strings.Contains(s, ":") {
				t.Errorf("Rootfs accepted %q", s)
			}
		}
		if b, err := container.ParseBind(s); err == nil {
			for _, p := range []string{b.Src, b.Dst} {
				if p == "" && b.Dst == "" {
					continue
				}
				if p == "/" || !strings.HasPrefix(p, "/") || strings.ContainsAny(p, ":,\\\x00\n") || strings.Contains(p, "/../") {
					t.Errorf("ParseBind(%q) accepted side %q", s, p)
				}
			}
			if strings.Count(b.String(), ":") > 1 {
				t.Errorf("ParseBind(%q) = %q: more than two sides", s, b)
			}
		}
	})
}
