package subsystem

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopRunsUntilStopped(t *testing.T) {
	var l Loop
	l.Stop() // never started: nothing to do
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	l.Start(ctx, time.Millisecond, func(context.Context) { calls.Add(1) })
	cancel() // the caller's cancellation does not stop the loop
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("loop did not run after its start context was cancelled")
		}
		time.Sleep(time.Millisecond)
	}
	l.Stop()
	n := calls.Load()
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != n {
		t.Fatal("loop ran after Stop returned")
	}
}
