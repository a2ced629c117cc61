// Package topology reads npte lab files: a YAML description of a lab's
// nodes (network namespaces), links (veth pairs today), addressing, routes,
// shaping and uplink. It parses (strictly: unknown keys are errors),
// validates, allocates addresses from the pools, computes routes, and
// builds the lab's plan (package plan) so that `npte lab apply FILE`
// renders or runs one plan under one lock. It also generates the file's
// JSON Schema, renders the topology as a graph (DOT or Mermaid) and
// compares two topologies object by object.
//
// Every error names a position in the file (line:column) and shows the
// offending snippet.
package topology

// File is a lab file as written. Only syntax and key names are checked
// when it is decoded; Resolve checks the rest and computes a Lab.
type File struct {
	// Name is the lab's name: the same rules as a namespace name.
	Name string `yaml:"name" doc:"the lab's name: a lowercase letter, then lowercase letters and digits, at most 12 bytes"`
	// Addressing gives the address pools; nil means the defaults.
	Addressing *Addressing `yaml:"addressing,omitempty" doc:"address pools; one /24 (and one /64) per link, taken in link order"`
	// Nodes are the lab's network namespaces, by name.
	Nodes map[string]*Node `yaml:"nodes" doc:"the lab's nodes (network namespaces), by name"`
	// Links connect two nodes each.
	Links []Link `yaml:"links,omitempty" doc:"links between two nodes: [A, B] or {endpoints: [A, B], ...}"`
	// Routes is "auto" (the default) or "none".
	Routes string `yaml:"routes,omitempty" doc:"auto (default): routes on every node to every link subnet, shortest path, ties broken by name; none: only the static routes" enum:"auto,none"`
	// Static are explicit routes; they override the automatic ones.
	Static []Route `yaml:"static,omitempty" doc:"explicit routes; each overrides the automatic route to the same destination on its node"`
	// Uplink connects one node to the outside through the host (npte
	// gateway create).
	Uplink *Uplink `yaml:"uplink,omitempty" doc:"an uplink from one node through the host (npte gateway create)"`
}

// Addressing names the pools links take their subnets from.
type Addressing struct {
	// IPv4 is the IPv4 pool (default 172.16.0.0/16): one /24 per link.
	IPv4 string `yaml:"ipv4,omitempty" doc:"IPv4 pool, default 172.16.0.0/16: one /24 per link"`
	// IPv6 is the IPv6 pool (none by default): one /64 per link.
	IPv6 string `yaml:"ipv6,omitempty" doc:"IPv6 pool, e.g. fd00:6e70::/48: one /64 per link; omit to stay IPv4-only"`
}

// Node is one network namespace of the lab.
type Node struct {
	// DNS are the resolvers written to the node's resolv.conf (default
	// npte's, as netns create).
	DNS []string `yaml:"dns,omitempty" doc:"resolvers for the node's resolv.conf (default: as npte netns create)"`
	// Host is reserved for multi-host labs: the host that runs the node.
	// Only "" and "local" are accepted today.
	Host string `yaml:"host,omitempty" doc:"reserved for multi-host labs; only local today"`
}

// Link is one link between two nodes. In the file it is either a pair
// [A, B] or a mapping with endpoints and options.
type Link struct {
	// Endpoints are the two nodes.
	Endpoints []string `yaml:"endpoints" doc:"the two nodes"`
	// Kind is the link's kind: veth (the default and only kind today).
	Kind string `yaml:"kind,omitempty" doc:"veth (the only kind today; vxlan across hosts later)" enum:"veth"`
	// Ifaces name the interface at an endpoint (default if-PEER).
	Ifaces map[string]string `yaml:"ifaces,omitempty" doc:"interface name per endpoint node (default if-PEER), at most 15 bytes"`
	// Addresses give explicit addresses per endpoint node; they override
	// the pool for their family.
	Addresses map[string]Addrs `yaml:"addresses,omitempty" doc:"explicit addresses (CIDR) per endpoint node, one or a list; they override the pool for their family"`
	// Shape shapes each direction, keyed "A->B" (egress of A's end).
	Shape map[string]*Shape `yaml:"shape,omitempty" doc:"shaping per direction, keyed A->B (egress of A's interface toward B)"`
	// short is set when the file wrote the link as [A, B].
	short bool
}

// Addrs is one address or a list of addresses (CIDR).
type Addrs []string

// Route is an explicit route: on Node, To via the neighbour Via.
type Route struct {
	// Node is where the route is added.
	Node string `yaml:"node" doc:"the node the route is added on"`
	// To is a prefix or "default".
	To string `yaml:"to" doc:"destination: a prefix or default"`
	// Via is a neighbour node (sharing a link with Node).
	Via string `yaml:"via" doc:"the next hop: a node that shares a link with node"`
}

// Uplink is `npte gateway create NODE SUBNET IFACE` as part of the lab.
type Uplink struct {
	// Node is the lab node that gets the uplink.
	Node string `yaml:"node" doc:"the node that gets the uplink"`
	// Iface is the host's outside interface.
	Iface string `yaml:"iface" doc:"the host's outside interface"`
	// Subnet is the private subnet between host and node.
	Subnet string `yaml:"subnet" doc:"private IPv4 subnet between the host and the node"`
	// Subnet6 is the optional IPv6 (ULA) subnet between host and node.
	Subnet6 string `yaml:"subnet6,omitempty" doc:"optional unique local IPv6 subnet between the host and the node"`
	// Firewall is nft (default) or iptables.
	Firewall string `yaml:"firewall,omitempty" doc:"nft (default) or iptables" enum:"nft,iptables"`
}
