package subsystem

import (
	"context"
	"sync"
	"time"
)

// Loop runs a subsystem's periodic background work (index pushes, notice
// copies) from Start until Stop.
type Loop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start calls fn every interval in a goroutine. The loop keeps ctx's values
// but not its cancellation: it runs until Stop, like the subsystem.
func (l *Loop) Start(ctx context.Context, every time.Duration, fn func(context.Context)) {
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fn(ctx)
		}
	}()
}

// Stop ends the loop and waits for a running fn to return; it does nothing
// if the loop never started.
func (l *Loop) Stop() {
	if l.cancel != nil {
		l.cancel()
		l.wg.Wait()
		l.cancel = nil
	}
}
