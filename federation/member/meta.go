package member

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/memberlist"
)

// metaVersion is the first byte of encoded metadata. Decoders read the
// fields they know and ignore trailing bytes, so a newer minor version can
// append fields; an incompatible layout takes a new version byte.
const metaVersion = 1

// Meta is what a node tells the federation about itself in gossip.
type Meta struct {
	Admdvs  string `json:"admdvs"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Version string `json:"version"`
	// API is the inter-node (settlement) address, host:port.
	API string `json:"api"`
	// Raft is the reference-data raft address, host:port.
	Raft string `json:"raft"`
	// Applied is the reference-data raft index applied locally.
	Applied uint64 `json:"applied"`
	// Ready is the node's own readiness.
	Ready bool `json:"ready"`
	// Leaving is set while the node leaves on purpose, so peers record
	// it as left rather than dead.
	Leaving bool `json:"leaving,omitempty"`
	// RefFormat is the newest reference-data raft entry format the node
	// reads (0: a release from before it was announced). A trailing
	// field: older releases ignore it.
	RefFormat uint8 `json:"ref_format,omitempty"`
}

const (
	flagReady   = 1
	flagLeaving = 2
)

// ErrMeta is returned for metadata that cannot be decoded.
var ErrMeta = errors.New("member metadata malformed")

// Encode packs m into at most limit bytes, shortening the display name
// (and only it) when needed.
func (m Meta) Encode(limit int) ([]byte, error) {
	enc := func(name string) []byte {
		b := make([]byte, 0, 96+len(name))
		b = append(b, metaVersion)
		var flags byte
		if m.Ready {
			flags |= flagReady
		}
		if m.Leaving {
			flags |= flagLeaving
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, m.Applied)
		for _, s := range []string{m.Admdvs, name, m.Role, m.Version, m.API, m.Raft} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		return append(b, m.RefFormat)
	}
	b := enc(m.Name)
	if len(b) <= limit {
		return b, nil
	}
	over := len(b) - limit
	if over > len(m.Name) {
		return nil, fmt.Errorf("member metadata is %d bytes, limit %d", len(b), limit)
	}
	name := m.Name[:len(m.Name)-over]
	for !utf8.ValidString(name) && name != "" {
		name = name[:len(name)-1]
	}
	return enc(name), nil
}

// DecodeMeta unpacks what Encode produced.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) < 2 || b[0] != metaVersion {
		return m, ErrMeta
	}
	m.Ready = b[1]&flagReady != 0
	m.Leaving = b[1]&flagLeaving != 0
	b = b[2:]
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return m, ErrMeta
	}
	m.Applied = v
	b = b[n:]
	for _, dst := range []*string{&m.Admdvs, &m.Name, &m.Role, &m.Version, &m.API, &m.Raft} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return Meta{}, ErrMeta
		}
		*dst = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) > 0 {
		m.RefFormat = b[0]
	}
	return m, nil
}

// metaLimit is memberlist's bound on node metadata.
const metaLimit = memberlist.MetaMaxSize
