package plan

import "strings"

// CutBusyLinks runs in the batched teardown right before the `ip netns
// del` of Names. A namespace that a process is in outlives `ip netns del`
// (only its name goes), and so do its links: a link between two such
// namespaces would let their processes go on talking over the lab after
// the teardown. The step finds which of Names a process is in (busy: the
// inode of /run/netns/NAME is that of some /proc/PID/ns/net), reads the
// links of Group in each busy namespace (`ip -n NS -o link show group
// GROUP`: each names its peer's namespace as link-netns), and deletes the
// links of Group (`ip -n NS link delete group GROUP`) in as few of the
// busy namespaces as it can so that no link is left between two busy
// namespaces, nor between a busy namespace and one outside Names: a
// busy namespace whose link leads elsewhere (another name, an unnamed
// namespace, its own) is always one of them; the links between busy
// namespaces are then covered greedily (the neighbour of the first
// namespace with one such link left, else the one with the most), so a
// chain of N busy namespaces costs about N/2 calls. A link with an end
// in a namespace without processes dies with that namespace. The choice
// is made by one awk program (CoverAwk), live and in the script alike;
// with no busy namespace, nothing but the inode comparison runs (the
// script's one stat; live npte reads /proc itself).
//
// Renders as:
//
//	npte_busy=
//	npte_p=
//	npte_i=
//	for npte_w in $(stat -L -c '%i %n' -- /proc/[0-9]*/ns/net /run/netns/NAME1 ... 2>/dev/null); do
//		if test -z "$npte_i"; then npte_i=$npte_w; continue; fi
//		case $npte_w in
//		/proc/*) case $npte_p in *" $npte_i "*) ;; *) npte_p="$npte_p $npte_i " ;; esac ;;
//		*) case $npte_p in *" $npte_i "*) npte_busy="$npte_busy ${npte_w##*/}" ;; esac ;;
//		esac
//		npte_i=
//	done
//	if test -n "$npte_busy"; then
//		npte_l=
//		for npte_b in $npte_busy; do
//			npte_l="$npte_l
//	@$npte_b
//	$(ip -n "$npte_b" -o link show group GROUP)" || exit 1
//		done
//		npte_c=$(printf '%s\n' "$npte_l" | awk -v 'names=NAME1 ...' 'COVERAWK') || exit 1
//		for npte_b in $npte_c; do
//			ip -n "$npte_b" link delete group GROUP || exit 1
//		done
//	fi
type CutBusyLinks struct {
	Names []string
	Group string
}

func (CutBusyLinks) isStep() {}

// Describe implements Step.
func (s CutBusyLinks) Describe() string {
	return "delete the links between namespaces that a process keeps alive"
}

// ShowArgv reads the links of s.Group in namespace ns.
func (s CutBusyLinks) ShowArgv(ns string) []string {
	return []string{"ip", "-n", ns, "-o", "link", "show", "group", s.Group}
}

// DeleteArgv deletes the links of s.Group in namespace ns.
func (s CutBusyLinks) DeleteArgv(ns string) []string {
	return []string{"ip", "-n", ns, "link", "delete", "group", s.Group}
}

// DeleteShow describes the deletion in ns for messages.
func (s CutBusyLinks) DeleteShow(ns string) string {
	return "delete the links npte made in " + ns + " (a process keeps it alive)"
}

// CoverArgv is the awk that chooses the namespaces whose links to delete;
// its standard input is CoverInput of the busy namespaces' links.
func (s CutBusyLinks) CoverArgv() []string {
	return []string{"awk", "-v", "names=" + strings.Join(s.Names, " "), CoverAwk}
}

// CoverInput is the cover's standard input, as the script's
// `printf '%s\n' "$npte_l"` writes it: for each busy namespace B in the
// order of Names, a newline, "@B", a newline and the output of ShowArgv(B)
// without its trailing newlines; then a newline.
func CoverInput(busy []string, shown []string) string {
	var b strings.Builder
	for i, n := range busy {
		b.WriteString("\n@")
		b.WriteString(n)
		b.WriteByte('\n')
		b.WriteString(strings.TrimRight(shown[i], "\n"))
	}
	b.WriteByte('\n')
	return b.String()
}

// CoverAwk reads CoverInput and prints, one per line in the order of
// names (-v names='NAME1 NAME2 ...'), the busy namespaces whose links of
// the group must be deleted (see CutBusyLinks). A link line's peer is the
// word after link-netns; none (link-netnsid, or no peer namespace) or one
// outside names, or the namespace itself, forces its namespace into the
// cover.
const CoverAwk = `BEGIN { n = split(names, N, " "); for (i = 1; i <= n; i++) at[N[i]] = i } ` +
	`/^@/ { b = substr($0, 2); busy[b] = 1; next } ` +
	`NF { p = ""; for (i = 1; i < NF; i++) if ($i == "link-netns") p = $(i + 1); m++; eb[m] = b; ep[m] = p } ` +
	`END { for (k = 1; k <= m; k++) if (ep[k] == eb[k] || !(ep[k] in at)) cov[eb[k]] = 1; ` +
	`for (k = 1; k <= m; k++) { b = eb[k]; p = ep[k]; if ((p in busy) && p != b && !(b in cov) && !(p in cov)) { e[b SUBSEP p] = 1; e[p SUBSEP b] = 1 } } ` +
	`while (1) { split("", d); split("", nb); for (k in e) { split(k, x, SUBSEP); d[x[1]]++; nb[x[1]] = x[2] } ` +
	`pick = ""; for (i = 1; i <= n && pick == ""; i++) if (d[N[i]] == 1) pick = nb[N[i]]; ` +
	`if (pick == "") { best = 0; for (i = 1; i <= n; i++) if (d[N[i]] > best) { best = d[N[i]]; pick = N[i] } } ` +
	`if (pick == "") break; cov[pick] = 1; ` +
	`split("", r); for (k in e) { split(k, x, SUBSEP); if (x[1] == pick || x[2] == pick) r[k] = 1 } for (k in r) delete e[k] } ` +
	`for (i = 1; i <= n; i++) if (N[i] in cov) print N[i] }`
