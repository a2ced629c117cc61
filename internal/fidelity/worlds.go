package fidelity

import "slices"

// ExitWith returns a World like w in which every run of the program argv
// exits with code instead. With code 2 it checks that a failed step exits
// 1 in the script as it does live: the script's header reserves exit 2 for
// "refused by a guard, nothing changed", so a step's `|| exit 1` must not
// pass a program's own 2 on.
func ExitWith(w World, code int, argv ...string) World {
	return func(run []string) int {
		if slices.Equal(run, argv) {
			return code
		}
		return w(run)
	}
}

// Links is the World of a machine where only the listed interfaces exist
// ("NS/DEV" inside namespace NS, "host/DEV" on the host) and no gateway
// left firewall state behind:
//
//   - `ip -n NS [-j] link show dev DEV` succeeds only for a listed NS/DEV;
//   - `ip link show dev DEV` succeeds only for a listed host/DEV ("host" is
//     never a gateway's namespace name);
//   - `nft list ...` and `iptables|ip6tables -t T -S CHAIN`, on the host or
//     through `ip netns exec NS`, fail;
//   - every other program succeeds.
func Links(links ...string) World {
	have := map[string]bool{}
	for _, l := range links {
		have[l] = true
	}
	return func(argv []string) int {
		if len(argv) >= 7 && argv[0] == "ip" && argv[1] == "-n" {
			rest := argv[3:]
			if rest[0] == "-j" {
				rest = rest[1:]
			}
			if len(rest) == 4 && rest[0] == "link" && rest[1] == "show" && rest[2] == "dev" {
				if have[argv[2]+"/"+rest[3]] {
					return 0
				}
				return 1
			}
		}
		probe := argv
		if len(probe) > 4 && probe[0] == "ip" && probe[1] == "netns" && probe[2] == "exec" {
			probe = probe[4:]
		}
		if len(probe) >= 2 && probe[0] == "nft" && probe[1] == "list" ||
			len(probe) == 5 && (probe[0] == "iptables" || probe[0] == "ip6tables") && probe[3] == "-S" {
			return 1
		}
		if len(argv) == 5 && argv[0] == "ip" && argv[1] == "link" && argv[2] == "show" && argv[3] == "dev" {
			if have["host/"+argv[4]] {
				return 0
			}
			return 1
		}
		return 0
	}
}
