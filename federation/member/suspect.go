package member

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// memberlist keeps suspicion to itself (its public API reports only live
// nodes, and a suspect is "live"). To show suspect members, the service
// watches the plaintext gossip passing through its transport for
// memberlist's suspect and alive messages: a suspect message marks the
// node suspect; an alive message with a higher incarnation (a refutation),
// any membership event, or the end of the longest possible suspicion
// clears it.

// memberlist message types (net.go of memberlist v0.5).
const (
	mlSuspect  = 3
	mlAlive    = 4
	mlCompound = 7
	mlCRC      = 12
)

type mlSuspectMsg struct {
	Incarnation uint32
	Node        string
	From        string
}

type mlAliveMsg struct {
	Incarnation uint32
	Node        string
}

func mlDecode(b []byte, out any) error {
	return codec.NewDecoder(bytes.NewReader(b), &codec.MsgpackHandle{}).Decode(out)
}

// sniff inspects one plaintext memberlist packet; depth bounds nesting.
func (s *Service) sniff(b []byte, depth int) {
	if len(b) == 0 || depth > 2 {
		return
	}
	switch b[0] {
	case mlCRC:
		if len(b) > 5 {
			s.sniff(b[5:], depth+1)
		}
	case mlCompound:
		b = b[1:]
		if len(b) < 1 {
			return
		}
		n := int(b[0])
		b = b[1:]
		if len(b) < 2*n {
			return
		}
		lens := b[:2*n]
		b = b[2*n:]
		for i := 0; i < n; i++ {
			l := int(binary.BigEndian.Uint16(lens[2*i:]))
			if l > len(b) {
				return
			}
			s.sniff(b[:l], depth+1)
			b = b[l:]
		}
	case mlSuspect:
		var m mlSuspectMsg
		if mlDecode(b[1:], &m) == nil {
			s.markSuspect(m.Node, m.Incarnation)
		}
	case mlAlive:
		var m mlAliveMsg
		if mlDecode(b[1:], &m) == nil {
			s.clearSuspect(m.Node, m.Incarnation, false)
		}
	}
}

type suspicion struct {
	inc uint32
	at  time.Time
}

func (s *Service) markSuspect(name string, inc uint32) {
	if name == s.name {
		return
	}
	s.mu.Lock()
	m := s.members[name]
	if m == nil || m.State != StateAlive && m.State != StateSuspect {
		s.mu.Unlock()
		return
	}
	if sp, ok := s.suspects[name]; ok && sp.inc >= inc {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	s.suspects[name] = suspicion{inc: inc, at: now}
	fresh := m.State != StateSuspect
	if fresh {
		m.State, m.Since = StateSuspect, now
	}
	ev := Event{Kind: EventSuspect, Member: *m, At: now}
	s.mu.Unlock()
	if fresh {
		s.emit(ev)
	}
}

// clearSuspect ends a suspicion refuted by incarnation inc (any when
// force) and returns the member to alive.
func (s *Service) clearSuspect(name string, inc uint32, force bool) {
	s.mu.Lock()
	sp, ok := s.suspects[name]
	if !ok || !force && inc <= sp.inc {
		s.mu.Unlock()
		return
	}
	delete(s.suspects, name)
	m := s.members[name]
	if m == nil || m.State != StateSuspect {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	m.State, m.Since = StateAlive, now
	ev := Event{Kind: EventAlive, Member: *m, At: now}
	s.mu.Unlock()
	s.emit(ev)
}

// expireSuspects clears suspicions older than the longest suspicion
// timeout: memberlist would have declared the node dead by then.
func (s *Service) expireSuspects(maxAge time.Duration) {
	s.mu.Lock()
	var old []string
	for name, sp := range s.suspects {
		if time.Since(sp.at) > maxAge {
			old = append(old, name)
		}
	}
	s.mu.Unlock()
	for _, name := range old {
		s.clearSuspect(name, 0, true)
	}
}
