package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// MemStore keeps records in memory.
type MemStore struct {
	mu   sync.Mutex
	recs []Record
}

var _ Store = (*MemStore)(nil)

// Append stores r.
func (m *MemStore) Append(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

// Last returns the newest record.
func (m *MemStore) Last(context.Context) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return Record{}, false, nil
	}
	return m.recs[len(m.recs)-1], true, nil
}

// All returns a copy of every record.
func (m *MemStore) All(context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.recs...), nil
}

// FileStore keeps records as JSON lines in one file.
type FileStore struct {
	mu   sync.Mutex
	path string
}

var _ Store = (*FileStore)(nil)

// NewFileStore uses path (created on first append).
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Append writes r as one line and syncs.
func (f *FileStore) Append(_ context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("audit file: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("audit file: %w", err)
	}
	return fh.Close()
}

// Last returns the last line's record.
func (f *FileStore) Last(ctx context.Context) (Record, bool, error) {
	all, err := f.All(ctx)
	if err != nil || len(all) == 0 {
		return Record{}, false, err
	}
	return all[len(all)-1], true, nil
}

// All reads every line.
func (f *FileStore) All(context.Context) ([]Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	defer fh.Close()
	var out []Record
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("audit file line %d: %w", line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	return out, nil
}
