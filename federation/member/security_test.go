package member

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
)

func newTestTransport(t *testing.T, m *link.Material, ring *Keyring) *Transport {
	t.Helper()
	tr, err := NewTransport(TransportConfig{BindAddr: "127.0.0.1:0", Material: m, Keyring: ring, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown() })
	return tr
}

// TestWireHasNoPlaintext: what leaves the transport carries no metadata in
// clear, a peer with the key opens it exactly, a peer with another key
// drops it.
func TestWireHasNoPlaintext(t *testing.T) {
	c := newCluster(t, 2)
	ring, _ := NewKeyring(c.key)
	a := newTestTransport(t, c.mats[0], ring)
	b := newTestTransport(t, c.mats[1], ring)
	otherKey, _ := GenerateKey()
	otherRing, _ := NewKeyring(otherKey)
	foreign := newTestTransport(t, c.mats[1], otherRing)

	meta, err := Meta{Admdvs: "440000", Name: "广东省医疗保障局", Role: "province", API: "127.0.0.1:9401",
		Raft: "127.0.0.1:9402", Version: "1.0.0"}.Encode(metaLimit)
	if err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("alive 440000 127.0.0.1:9403 "), meta...)

	sniff, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sniff.Close()
	if _, err := a.WriteTo(payload, sniff.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	_ = sniff.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 65536)
	n, _, err := sniff.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	wire := buf[:n]
	if n != len(payload)+PacketOverhead {
		t.Fatalf("wire packet %d bytes, want %d", n, len(payload)+PacketOverhead)
	}
	for _, clear := range []string{"440000", "127.0.0.1", "9401", "广东", "province", "alive"} {
		if bytes.Contains(wire, []byte(clear)) {
			t.Fatalf("wire packet contains %q in clear", clear)
		}
	}

	if _, err := a.WriteTo(payload, b.Addr().String()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-b.PacketCh():
		if !bytes.Equal(p.Buf, payload) || p.From.String() != a.Addr().String() {
			t.Fatalf("got %q from %s", p.Buf, p.From)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("packet not delivered")
	}

	if _, err := foreign.WriteTo(payload, b.Addr().String()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "foreign packet dropped", func() error {
		if d := b.Stats().PacketsDropped; d != 1 {
			return fmt.Errorf("dropped %d", d)
		}
		return nil
	})
	select {
	case p := <-b.PacketCh():
		t.Fatalf("foreign packet delivered: %q", p.Buf)
	default:
	}
}

// TestIntrudersCannotJoin: a node whose gossip key is wrong, and a node
// whose certificate comes from another CA, are refused by the federation
// and never appear in anyone's member list.
func TestIntrudersCannotJoin(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	eventually(t, 60*time.Second, "converge", c.convergedErr)

	otherCA, err := ca.Init(t.TempDir(), []byte("other"), ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreignMat, err := link.IssueMaterial(otherCA, "450000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	goodMat, err := link.IssueMaterial(c.ca, "450000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := GenerateKey()
	wrongRing, _ := NewKeyring(wrongKey)
	rightRing, _ := NewKeyring(c.key)

	cases := []struct {
		name string
		mat  *link.Material
		ring *Keyring
		seed int // seeds at a province: it cannot hand out the keyring
	}{
		{"wrong gossip key", goodMat, wrongRing, 1},
		{"certificate of another CA", foreignMat, rightRing, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := c.nodes[tc.seed]
			refused := seed.Transport().Stats().StreamsRefused
			x, err := New(Config{BindAddr: "127.0.0.1:0", Seeds: []string{c.addrs[tc.seed]}, DataDir: t.TempDir(),
				Material: tc.mat, Keyring: tc.ring, RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond,
				Log: testLog(t).With("node", "intruder")})
			if err != nil {
				t.Fatal(err)
			}
			if err := x.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer x.Shutdown()
			eventually(t, 60*time.Second, "refusals", func() error {
				if got := seed.Transport().Stats().StreamsRefused - refused; got < 2 {
					return fmt.Errorf("%d streams refused", got)
				}
				return nil
			})
			if x.Joined() {
				t.Fatal("intruder joined")
			}
			if len(x.Members()) != 1 {
				t.Fatalf("intruder learnt %v", x.Members())
			}
			for _, s := range c.running() {
				if m, ok := s.Member("450000"); ok {
					t.Fatalf("%s lists the intruder: %+v", s.Name(), m)
				}
			}
		})
	}
}
