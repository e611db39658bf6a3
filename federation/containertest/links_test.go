package containertest

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestDelayProxy: an echo through the proxy takes at least the delays of
// both directions, and the bytes arrive unchanged and in order.
func TestDelayProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	p, err := StartDelayProxy("127.0.0.1:0", ln.Addr().String(), 40*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	for round := range 3 {
		msg := make([]byte, 100<<10)
		for i := range msg {
			msg[i] = byte(i*7 + round)
		}
		start := time.Now()
		go func() { _, _ = c.Write(msg) }()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if took < 60*time.Millisecond {
			t.Errorf("round %d: echo took %s, less than the 60 ms of delay", round, took)
		}
		for i := range got {
			if got[i] != msg[i] {
				t.Fatalf("round %d: byte %d is %d, sent %d", round, i, got[i], msg[i])
			}
		}
	}
}
