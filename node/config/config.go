// Package config is a node's configuration: shared defaults, then the
// center's YAML file, then command-line overrides. Load reports every
// problem it finds, each with the key path it belongs to.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ybfed/ybfed/federation/centers"
	"github.com/ybfed/ybfed/node/store"
)

// Roles a node can have.
const (
	RoleNational = "national"
	RoleProvince = "province"
)

// Config is everything one node needs to start.
type Config struct {
	Node       Identity   `yaml:"node"`
	Listen     Listen     `yaml:"listen"`
	Advertise  string     `yaml:"advertise"`
	DataDir    string     `yaml:"data_dir"`
	Storage    Storage    `yaml:"storage"`
	Hub        Hub        `yaml:"hub"`
	Federation Federation `yaml:"federation"`
	TLS        TLS        `yaml:"tls"`
	CA         CA         `yaml:"ca"`
	Log        Log        `yaml:"log"`
	Shutdown   Shutdown   `yaml:"shutdown"`
}

// Identity says which center this node is.
type Identity struct {
	// Admdvs is the center's 6-digit GB/T 2260 code.
	Admdvs string `yaml:"admdvs"`
	// Name is the center's display name.
	Name string `yaml:"name"`
	// Role is national or province.
	Role string `yaml:"role"`
	// ID is the node's name in the federation (gossip, reference-data
	// raft, hub leases) when its center runs more than one node: the
	// admdvs, a dash and a suffix, e.g. "100000-2" for a second national
	// node sharing the hub role. Empty means the admdvs itself.
	ID string `yaml:"id"`
}

// checkStorage reports the problems of a storage section at path.
func checkStorage(path string, s Storage, add func(path, format string, a ...any)) {
	switch store.Kind(s.Driver) {
	case store.SQLite, "":
		if s.URL != "" {
			add(path+".url", "set, but %s.driver is sqlite", path)
		}
	case store.Postgres, store.Cockroach:
		if s.URL == "" {
			add(path+".url", "required for driver %s", s.Driver)
		} else if !strings.HasPrefix(s.URL, "postgres://") && !strings.HasPrefix(s.URL, "postgresql://") {
			add(path+".url", "must start with postgres:// or postgresql://")
		}
	default:
		add(path+".driver", "must be sqlite, postgres or cockroach, not %q", s.Driver)
	}
}

// NodeID returns the node's name in the federation: Identity.ID, or the
// admdvs when unset.
func (i Identity) NodeID() string {
	if i.ID != "" {
		return i.ID
	}
	return i.Admdvs
}

// Listen holds the node's listen addresses (host:port; port 0 picks one).
type Listen struct {
	Hospital  string `yaml:"hospital"`
	Internode string `yaml:"internode"`
	Raft      string `yaml:"raft"`
	Gossip    string `yaml:"gossip"`
	Admin     string `yaml:"admin"`
	Console   string `yaml:"console"`
	// Enrol serves join-token enrolment; only the national node sets it.
	Enrol string `yaml:"enrol"`
}

// Hub configures the settlement hub of a national node.
type Hub struct {
	// Storage is the hub's database (journal, clearing, statements, job
	// leases) when it is not the node's own: the PostgreSQL or CockroachDB
	// database that every national node sharing the hub role names with
	// the same URL. Empty: the node's own database (a single hub).
	Storage Storage `yaml:"storage"`
}

// Storage selects the database backend.
type Storage struct {
	Driver   string `yaml:"driver"`
	Path     string `yaml:"path"`
	URL      string `yaml:"url"`
	MaxConns int    `yaml:"max_conns"`
}

// Federation holds how the node finds and trusts the rest.
type Federation struct {
	// Seeds are gossip addresses of other nodes to join through.
	Seeds []string `yaml:"seeds"`
	// NationalURL is the national node's inter-node API.
	NationalURL string `yaml:"national_url"`
	// EnrolURL is the national node's enrolment endpoint.
	EnrolURL string `yaml:"enrol_url"`
	// Voters are the admdvs codes of the reference-data raft voters.
	Voters []string `yaml:"voters"`
	// JoinToken is a one-time enrolment token (only for the first start).
	JoinToken string `yaml:"join_token"`
	// CAFingerprint is the hex SM3 fingerprint of the federation CA
	// certificate, checked at enrolment.
	CAFingerprint string `yaml:"ca_fingerprint"`
	// Raft tunes the reference-data raft member; zero values take the
	// defaults.
	Raft Raft `yaml:"raft"`
}

// Raft tunes the reference-data raft member.
type Raft struct {
	// NoSync skips the fsync of every raft log write: only for many nodes
	// sharing one disk (the single-machine demo).
	NoSync bool `yaml:"no_sync"`
	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout are raft's
	// timeouts; larger values tolerate a starved scheduler.
	HeartbeatTimeout   Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout Duration `yaml:"leader_lease_timeout"`
}

// TLS locates the node's key material.
type TLS struct {
	Dir            string `yaml:"dir"`
	PassphraseFile string `yaml:"passphrase_file"`
}

// CA locates the federation CA (national node only).
type CA struct {
	Dir            string `yaml:"dir"`
	PassphraseFile string `yaml:"passphrase_file"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Shutdown bounds graceful shutdown.
type Shutdown struct {
	Drain Duration `yaml:"drain"`
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("invalid duration %q", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// StoreConfig converts the storage section for node/store, resolving the
// default SQLite path inside the data directory.
func (c *Config) StoreConfig() store.Config {
	s := store.Config{Driver: store.Kind(c.Storage.Driver), Path: c.Storage.Path, URL: c.Storage.URL, MaxConns: c.Storage.MaxConns}
	if s.Driver == "" {
		s.Driver = store.SQLite
	}
	if s.Driver == store.SQLite && s.Path == "" {
		s.Path = filepath.Join(c.DataDir, "ybnode.db")
	}
	return s
}

// HubStoreConfig returns the shared hub database of a national node, and
// false when the hub uses the node's own database.
func (c *Config) HubStoreConfig() (store.Config, bool) {
	h := c.Hub.Storage
	if h.Driver == "" && h.URL == "" {
		return store.Config{}, false
	}
	return store.Config{Driver: store.Kind(h.Driver), URL: h.URL, MaxConns: h.MaxConns}, true
}

// FieldError is one problem with one key.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errors is every problem found in a configuration.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Parse decodes YAML documents in order, later ones overriding earlier
// ones, and validates the result. Unknown keys are errors.
func Parse(docs ...[]byte) (*Config, error) {
	var c Config
	var errs Errors
	for _, doc := range docs {
		var root yaml.Node
		if err := yaml.Unmarshal(doc, &root); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if len(root.Content) == 0 {
			continue
		}
		unknownKeys(root.Content[0], reflect.TypeOf(c), "", &errs)
		if err := root.Content[0].Decode(&c); err != nil {
			errs = append(errs, FieldError{Path: "(file)", Msg: err.Error()})
		}
	}
	errs = append(errs, c.Validate()...)
	if len(errs) > 0 {
		return &c, errs
	}
	return &c, nil
}

// Load reads the shared defaults and the center file at path.
func Load(defaults []byte, path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(defaults, b)
	if err != nil {
		var es Errors
		if errors.As(err, &es) {
			return c, fmt.Errorf("%s:\n%w", path, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// unknownKeys records every mapping key with no matching struct field.
func unknownKeys(n *yaml.Node, t reflect.Type, path string, errs *Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := join(path, k)
			ft, ok := fields[k]
			if !ok {
				*errs = append(*errs, FieldError{Path: p, Msg: fmt.Sprintf("unknown key (line %d)", n.Content[i].Line)})
				continue
			}
			unknownKeys(n.Content[i+1], ft, p, errs)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			unknownKeys(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", errs)
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Validate checks the configuration and returns every problem found.
func (c *Config) Validate() Errors {
	var errs Errors
	add := func(path, format string, a ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if err := centers.ValidAdmdvs(c.Node.Admdvs); err != nil {
		add("node.admdvs", "%v", err)
	} else if _, ok := centers.Lookup(c.Node.Admdvs); !ok {
		add("node.admdvs", "%s is a city or county code; a node serves a center (national 100000 or a province-level code)", c.Node.Admdvs)
	}
	switch c.Node.Role {
	case RoleNational:
		if c.Node.Admdvs != "" && c.Node.Admdvs != centers.NationalAdmdvs {
			add("node.role", "national role needs node.admdvs %s, not %q", centers.NationalAdmdvs, c.Node.Admdvs)
		}
	case RoleProvince:
		if c.Node.Admdvs == centers.NationalAdmdvs {
			add("node.role", "admdvs %s is the national center; role must be national", c.Node.Admdvs)
		}
	case "":
		add("node.role", "required (national or province)")
	default:
		add("node.role", "must be national or province, not %q", c.Node.Role)
	}
	if strings.TrimSpace(c.Node.Name) == "" {
		add("node.name", "required")
	}
	if id := c.Node.ID; id != "" {
		prefix, suffix, _ := strings.Cut(id, "-")
		if prefix != c.Node.Admdvs || suffix == "" || strings.ContainsAny(suffix, " /\t\n") {
			add("node.id", "must be the admdvs, a dash and a suffix (e.g. %s-2), not %q", c.Node.Admdvs, id)
		}
	}
	// Listen addresses: well formed, and no two on the same port.
	type lis struct{ key, addr string }
	all := []lis{{"hospital", c.Listen.Hospital}, {"internode", c.Listen.Internode}, {"raft", c.Listen.Raft},
		{"gossip", c.Listen.Gossip}, {"admin", c.Listen.Admin}, {"console", c.Listen.Console}, {"enrol", c.Listen.Enrol}}
	seen := map[string]string{}
	for _, l := range all {
		p := "listen." + l.key
		if l.addr == "" {
			if l.key != "enrol" && l.key != "console" {
				add(p, "required")
			}
			continue
		}
		host, port, err := net.SplitHostPort(l.addr)
		if err != nil {
			add(p, "not host:port: %q", l.addr)
			continue
		}
		pn, err := strconv.Atoi(port)
		if err != nil || pn < 0 || pn > 65535 {
			add(p, "bad port %q", port)
			continue
		}
		if pn == 0 {
			continue // picked at start, cannot clash
		}
		for other, oaddr := range seen {
			oh, op, _ := net.SplitHostPort(oaddr)
			if op == port && (oh == host || oh == "" || host == "" || oh == "0.0.0.0" || host == "0.0.0.0") {
				add(p, "port %s already used by listen.%s", port, other)
			}
		}
		seen[l.key] = l.addr
	}
	if c.Listen.Enrol != "" && c.Node.Role != RoleNational {
		add("listen.enrol", "only the national node serves enrolment")
	}
	if c.DataDir == "" {
		add("data_dir", "required")
	}
	checkStorage("storage", c.Storage, add)
	if h := c.Hub.Storage; h.Driver != "" || h.URL != "" || h.Path != "" {
		switch {
		case c.Node.Role != RoleNational:
			add("hub.storage", "only national nodes run the hub")
		case h.Path != "" || h.Driver == "" || store.Kind(h.Driver) == store.SQLite:
			add("hub.storage.driver", "must be postgres or cockroach: national nodes share the hub database over the network")
		default:
			checkStorage("hub.storage", h, add)
		}
	}
	for i, s := range c.Federation.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			add(fmt.Sprintf("federation.seeds[%d]", i), "not host:port: %q", s)
		}
	}
	for _, u := range []struct{ key, val string }{{"federation.national_url", c.Federation.NationalURL}, {"federation.enrol_url", c.Federation.EnrolURL}} {
		if u.val != "" && !strings.HasPrefix(u.val, "https://") {
			add(u.key, "must be an https:// URL, not %q", u.val)
		}
	}
	vs := map[string]bool{}
	for i, v := range c.Federation.Voters {
		p := fmt.Sprintf("federation.voters[%d]", i)
		if _, ok := centers.Lookup(v); !ok {
			add(p, "%q is not a center's admdvs code", v)
		}
		if vs[v] {
			add(p, "%s listed twice", v)
		}
		vs[v] = true
	}
	if len(c.Federation.Voters) > 0 && len(c.Federation.Voters)%2 == 0 {
		add("federation.voters", "needs an odd number of voters, has %d", len(c.Federation.Voters))
	}
	for _, d := range []struct {
		key string
		val Duration
	}{{"heartbeat_timeout", c.Federation.Raft.HeartbeatTimeout}, {"election_timeout", c.Federation.Raft.ElectionTimeout}, {"leader_lease_timeout", c.Federation.Raft.LeaderLeaseTimeout}} {
		if d.val < 0 {
			add("federation.raft."+d.key, "must not be negative")
		}
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		add("log.format", "must be json or text, not %q", c.Log.Format)
	}
	if c.Shutdown.Drain < 0 {
		add("shutdown.drain", "must not be negative")
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return errs
}

// Marshal renders the effective configuration as YAML.
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(c); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return b.Bytes(), nil
}
