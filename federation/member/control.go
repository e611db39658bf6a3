package member

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

// Keyring operations travel as control streams on the gossip port: the
// same mutual GM TLS as memberlist's streams, so the receiver knows the
// caller's certificate. Only a national node may change a keyring; any
// federation member may read the national keyring to catch up after
// being away during a rotation. The key itself is protected by the TLS
// session (SM4) and never gossiped.

// KeyOp is a keyring operation.
type KeyOp string

// Keyring operations.
const (
	KeyInstall KeyOp = "install"
	KeyUse     KeyOp = "use"
	KeyRemove  KeyOp = "remove"
	keyGet     KeyOp = "get"
)

// ErrNotNational is returned when a province tries to drive the keyring.
var ErrNotNational = errors.New("only a national node may change the federation keyring")

const maxControlMsg = 64 << 10

type controlReq struct {
	Op  KeyOp  `json:"op"`
	Key []byte `json:"key,omitempty"`
}

type controlResp struct {
	Error   string `json:"error,omitempty"`
	Keyring []byte `json:"keyring,omitempty"`
}

func writeMsg(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	_, err = w.Write(append(hdr[:], b...))
	return err
}

func readMsg(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxControlMsg {
		return fmt.Errorf("control message of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// controlIdle bounds how long a control session waits for its next request.
const controlIdle = 30 * time.Second

// serveControl answers the control requests of one session from an
// authenticated peer, until the peer closes it or stays idle.
func (s *Service) serveControl(conn net.Conn, peer link.Peer) {
	defer conn.Close()
	for {
		_ = conn.SetDeadline(time.Now().Add(controlIdle))
		var req controlReq
		if err := readMsg(conn, &req); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("control session ended", "peer", peer.Admdvs, "err", err)
			}
			return
		}
		var resp controlResp
		if err := s.applyControl(req, peer); err != nil {
			resp.Error = err.Error()
			s.log.Warn("keyring operation refused", "op", req.Op, "peer", peer.Admdvs, "err", err)
		} else if req.Op == keyGet {
			resp.Keyring = s.ring.Marshal()
		} else {
			s.log.Info("keyring changed", "op", req.Op, "by", peer.Admdvs, "key_id", keyID(req.Key).String(),
				"primary", s.ring.Primary().String())
		}
		if err := writeMsg(conn, resp); err != nil {
			return
		}
	}
}

func (s *Service) applyControl(req controlReq, peer link.Peer) error {
	if req.Op == keyGet {
		return nil
	}
	if peer.Role != ca.RoleNational {
		return ErrNotNational
	}
	return s.applyLocal(req.Op, req.Key)
}

func (s *Service) applyLocal(op KeyOp, key []byte) error {
	switch op {
	case KeyInstall:
		return s.ring.Install(key)
	case KeyUse:
		return s.ring.Use(key)
	case KeyRemove:
		return s.ring.Remove(key)
	}
	return fmt.Errorf("unknown keyring operation %q", op)
}

// controlSession is an open control stream to one member: one GM TLS
// handshake for any number of requests.
type controlSession struct {
	conn *link.Conn
	peer link.Peer
}

func (s *Service) openControl(ctx context.Context, m Member) (*controlSession, error) {
	c, err := link.Dial(ctx, m.Addr, s.cfg.Material, AdmdvsOf(m.Name))
	if err != nil {
		return nil, err
	}
	peer, err := link.PeerOf(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{controlMagic}); err != nil {
		c.Close()
		return nil, err
	}
	return &controlSession{conn: c, peer: peer}, nil
}

func (cs *controlSession) do(ctx context.Context, req controlReq) (controlResp, error) {
	var resp controlResp
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = cs.conn.SetDeadline(deadline)
	if err := writeMsg(cs.conn, req); err != nil {
		return resp, err
	}
	if err := readMsg(cs.conn, &resp); err != nil {
		return resp, err
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

func (cs *controlSession) close() { cs.conn.Close() }

// control sends one request to a member and returns its answer.
func (s *Service) control(ctx context.Context, m Member, req controlReq) (controlResp, link.Peer, error) {
	cs, err := s.openControl(ctx, m)
	if err != nil {
		return controlResp{}, link.Peer{}, err
	}
	defer cs.close()
	resp, err := cs.do(ctx, req)
	return resp, cs.peer, err
}

// KeyResult is the outcome of a keyring operation on one member.
type KeyResult struct {
	Member string `json:"member"`
	Error  string `json:"error,omitempty"`
}

// InstallKey installs key here and on every live member.
func (s *Service) InstallKey(ctx context.Context, key []byte) ([]KeyResult, error) {
	return s.keyOps(ctx, controlReq{Op: KeyInstall, Key: key})
}

// UseKey makes key the primary here and on every live member; install it
// everywhere first.
func (s *Service) UseKey(ctx context.Context, key []byte) ([]KeyResult, error) {
	return s.keyOps(ctx, controlReq{Op: KeyUse, Key: key})
}

// RemoveKey removes key here and on every live member; make another key
// primary everywhere first.
func (s *Service) RemoveKey(ctx context.Context, key []byte) ([]KeyResult, error) {
	return s.keyOps(ctx, controlReq{Op: KeyRemove, Key: key})
}

// RotateKey installs a fresh key everywhere, makes it primary everywhere,
// then removes every other key everywhere. Each phase finishes on every
// live member before the next starts, so no two nodes ever lack a common
// key; one control session per member carries all phases, so a rotation
// costs one handshake per member. It returns the new key's id.
func (s *Service) RotateKey(ctx context.Context) (KeyID, error) {
	key, err := GenerateKey()
	if err != nil {
		return KeyID{}, err
	}
	ops := []controlReq{{Op: KeyInstall, Key: key}, {Op: KeyUse, Key: key}}
	s.ring.mu.RLock()
	for _, rk := range s.ring.keys {
		ops = append(ops, controlReq{Op: KeyRemove, Key: rk.key})
	}
	s.ring.mu.RUnlock()
	if _, err := s.keyOps(ctx, ops...); err != nil {
		return KeyID{}, fmt.Errorf("rotate: %w", err)
	}
	return keyID(key), nil
}

// controlConcurrency bounds simultaneous handshakes of a keyring
// operation, so the CPU they take never starves failure detection.
const controlConcurrency = 4

// keyOps runs ops in order, each as one phase: applied here, then on every
// live member; a phase must succeed everywhere before the next starts.
// It returns the results of the last phase run.
func (s *Service) keyOps(ctx context.Context, ops ...controlReq) ([]KeyResult, error) {
	if s.self.Role != ca.RoleNational {
		return nil, ErrNotNational
	}
	var targets []Member
	for _, m := range s.Members() {
		if !m.Self && (m.State == StateAlive || m.State == StateSuspect) {
			targets = append(targets, m)
		}
	}
	results := make([]KeyResult, len(targets))
	sessions := make([]*controlSession, len(targets))
	defer func() {
		for _, cs := range sessions {
			if cs != nil {
				cs.close()
			}
		}
	}()
	sem := make(chan struct{}, controlConcurrency)
	var wg sync.WaitGroup
	for i, m := range targets {
		results[i].Member = m.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cs, err := s.openControl(ctx, m)
			if err != nil {
				results[i].Error = err.Error()
				return
			}
			sessions[i] = cs
		}()
	}
	wg.Wait()
	if err := failed("connect", results); err != nil {
		return results, err
	}
	for _, op := range ops {
		if err := s.applyLocal(op.Op, op.Key); err != nil {
			return nil, fmt.Errorf("keyring %s: %w", op.Op, err)
		}
		for i := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := sessions[i].do(ctx, op); err != nil {
					results[i].Error = err.Error()
				}
			}()
		}
		wg.Wait()
		s.log.Info("federation keyring operation", "op", op.Op, "key_id", keyID(op.Key).String(), "members", len(targets))
		if err := failed(string(op.Op), results); err != nil {
			return results, err
		}
	}
	return results, nil
}

func failed(phase string, results []KeyResult) error {
	var errs []error
	for _, r := range results {
		if r.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", r.Member, r.Error))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("keyring %s failed on %d of %d members: %w", phase, len(errs), len(results), errors.Join(errs...))
}

// SyncKeyring makes this node's keyring equal to the national node's,
// asking live national members first, then the seeds and saved peers (a
// node away during a rotation no longer shares a key with anyone, but its
// certificate still lets it ask). Only an answer from a peer whose
// certificate has the national role is taken.
func (s *Service) SyncKeyring(ctx context.Context) error {
	_, err := s.syncKeyring(ctx, true)
	return err
}

func (s *Service) syncKeyring(ctx context.Context, seeds bool) (changed bool, err error) {
	var targets []Member
	for _, m := range s.Members() {
		if !m.Self && m.State == StateAlive && m.Meta.Role == string(ca.RoleNational) {
			targets = append(targets, m)
		}
	}
	if seeds {
		for _, c := range s.candidates() {
			name, addr, ok := strings.Cut(c, "/")
			if !ok {
				name, addr = "", c
			}
			if name != "" && !slices.ContainsFunc(targets, func(m Member) bool { return m.Name == name }) {
				if m, known := s.Member(name); known && m.Meta.Role != "" && m.Meta.Role != string(ca.RoleNational) {
					continue // a province cannot answer
				}
			}
			targets = append(targets, Member{Name: name, Addr: addr})
		}
	}
	var errs []error
	for _, m := range targets {
		if ctx.Err() != nil {
			break
		}
		resp, peer, err := s.control(ctx, m, controlReq{Op: keyGet})
		if err == nil && peer.Role != ca.RoleNational {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Addr, err))
			continue
		}
		other, err := ParseKeyring(resp.Keyring)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Addr, err))
			continue
		}
		if s.ring.Equal(other) {
			return false, nil
		}
		if err := s.ring.Replace(other); err != nil {
			return false, err
		}
		s.log.Info("keyring synchronised from the national node", "from", peer.Admdvs, "primary", s.ring.Primary().String())
		return true, nil
	}
	if len(errs) == 0 {
		return false, nil // no national node reachable
	}
	return false, fmt.Errorf("keyring sync: %w", errors.Join(errs...))
}
