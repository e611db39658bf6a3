package basicinfo

import (
	"context"
	"fmt"
	"iter"

	"github.com/ybfed/ybfed/node/store"
)

// RotateKeys re-encrypts every person's sealed PII still under an older
// key with the keyring's current key, and returns how many rows changed.
// Blind indexes do not depend on the encryption key and stay as they are.
// Key rotation is a sensitive action: the node runs it after a four-eyes
// approval (internal control, kind key.rotate).
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	type row struct{ psn, ct string }
	var rows []row
	rs, err := s.db.Query(ctx, `SELECT psn_no, pii FROM bi_person ORDER BY psn_no`)
	if err != nil {
		return 0, fmt.Errorf("basicinfo: rotate keys: %w", err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.psn, &r.ct); err != nil {
			rs.Close()
			return 0, fmt.Errorf("basicinfo: rotate keys: %w", err)
		}
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("basicinfo: rotate keys: %w", err)
	}
	old := make(map[string]string, len(rows))
	for _, r := range rows {
		old[r.psn] = r.ct
	}
	seq := iter.Seq2[string, string](func(yield func(string, string) bool) {
		for _, r := range rows {
			if !yield(r.psn, r.ct) {
				return
			}
		}
	})
	n, err := s.opt.Keys.ReencryptAll(ctx, fieldPII, seq, func(ctx context.Context, psn, ct string) error {
		return s.db.Tx(ctx, func(tx *store.Tx) error {
			// Only replace the value read: a concurrent change already
			// wrote under the current key.
			_, err := tx.Exec(ctx, `UPDATE bi_person SET pii = ? WHERE psn_no = ? AND pii = ?`, ct, psn, old[psn])
			return err
		})
	})
	if err != nil {
		return n, fmt.Errorf("basicinfo: rotate keys: %w", err)
	}
	if n > 0 {
		s.log.Info("person PII re-encrypted", "rows", n, "key", s.opt.Keys.Current())
	}
	return n, nil
}
