package refdata

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// fsm is the raft state machine: it applies entries to the Store.
type fsm struct {
	store *Store
	trust *Trust
	log   *slog.Logger
	tmp   string      // directory for snapshot files
	reads EntryFormat // newest entry format this node reads

	applied  atomic.Uint64
	restores atomic.Int64 // snapshots restored, for tests and metrics
	broken   atomic.Pointer[error]

	mu     sync.Mutex
	notify chan struct{} // closed and replaced whenever applied advances
}

var _ raft.ConfigurationStore = (*fsm)(nil)

// StoreConfiguration is called for configuration entries; they change no
// data but count as applied for WaitApplied and the lag.
func (f *fsm) StoreConfiguration(index uint64, _ raft.Configuration) { f.advance(index) }

func newFSM(ctx context.Context, s *Store, t *Trust, log *slog.Logger, tmp string, reads EntryFormat) (*fsm, error) {
	f := &fsm{store: s, trust: t, log: log, tmp: tmp, reads: reads, notify: make(chan struct{})}
	idx, err := s.AppliedIndex(ctx)
	if err != nil {
		return nil, err
	}
	f.applied.Store(idx)
	return f, nil
}

func (f *fsm) advance(idx uint64) {
	if idx <= f.applied.Load() {
		return
	}
	f.applied.Store(idx)
	f.mu.Lock()
	close(f.notify)
	f.notify = make(chan struct{})
	f.mu.Unlock()
}

func (f *fsm) waitCh() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notify
}

// Apply applies one committed entry. Store failures are retried a few
// times; if they persist the FSM stops applying (the node reports itself
// not ready) and a restart replays from the stored applied index.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if errp := f.broken.Load(); errp != nil {
		return fmt.Errorf("refdata: state machine stopped: %w", *errp)
	}
	if l.Index > f.applied.Load() {
		if err := checkFormat(l.Index, l.Data, f.reads); err != nil {
			// Written by a newer leader: applying or rejecting it would
			// both leave this node unlike the others. Stop; after an
			// upgrade the node replays from its stored applied index.
			f.log.Error("state machine stopped: entry format not readable", "index", l.Index, "err", err)
			f.broken.Store(&err)
			return err
		}
	}
	var (
		res Result
		err error
	)
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err = f.store.apply(ctx, f.trust, l.Index, l.Data)
		cancel()
		if err == nil {
			break
		}
		f.log.Warn("apply failed, retrying", "index", l.Index, "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if err != nil {
		f.log.Error("state machine stopped: store write failed", "index", l.Index, "err", err)
		f.broken.Store(&err)
		return err
	}
	if res.Rejected != "" && !res.Skipped {
		f.log.Warn("batch rejected", "index", l.Index, "reason", res.Rejected)
	}
	f.advance(l.Index)
	return res
}

// Snapshot dumps the tables to a file while the FSM is paused (raft calls
// Snapshot from the FSM goroutine), so Persist can stream it later.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if errp := f.broken.Load(); errp != nil {
		return nil, *errp
	}
	if err := os.MkdirAll(f.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("refdata snapshot: %w", err)
	}
	file, err := os.CreateTemp(f.tmp, "dump-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("refdata snapshot: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := f.store.Dump(ctx, file); err != nil {
		file.Close()
		os.Remove(file.Name())
		return nil, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		file.Close()
		os.Remove(file.Name())
		return nil, fmt.Errorf("refdata snapshot: %w", err)
	}
	return &fileSnapshot{f: file}, nil
}

// Restore replaces the state with a snapshot (installed from the leader
// or read at start when the store is behind the newest snapshot).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := f.store.Restore(ctx, rc); err != nil {
		return err
	}
	idx, err := f.store.AppliedIndex(ctx)
	if err != nil {
		return err
	}
	f.applied.Store(0)
	f.advance(idx)
	f.restores.Add(1)
	f.log.Info("restored from snapshot", "applied_index", idx)
	return nil
}

// fileSnapshot is a dump waiting in a temporary file.
type fileSnapshot struct{ f *os.File }

func (s *fileSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := io.Copy(sink, s.f); err != nil {
		sink.Cancel()
		return fmt.Errorf("refdata snapshot persist: %w", err)
	}
	return sink.Close()
}

func (s *fileSnapshot) Release() {
	name := s.f.Name()
	s.f.Close()
	os.Remove(name)
}

// snapshotTmp is the directory of dumps waiting to be persisted.
func snapshotTmp(dir string) string { return filepath.Join(dir, "dump") }
