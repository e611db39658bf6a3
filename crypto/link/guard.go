package link

import (
	"fmt"
	"net/http"

	"github.com/ybfed/ybfed/crypto/ca"
)

// Recheck tells whether an already connected peer is still acceptable now:
// certificate not expired, not revoked since the handshake, role allowed.
// Long-lived links (pooled HTTP connections, raft and gossip streams) call
// it per request or when revocations change, and drop the connection on
// error.
func (m *Material) Recheck(p Peer) error {
	if p.Cert == nil {
		return ErrNotVerified
	}
	now := m.now()
	if now.Before(p.Cert.NotBefore) || now.After(p.Cert.NotAfter) {
		return ca.ErrExpired
	}
	if m.Revocations != nil && m.Revocations.Revoked(p.Serial) {
		return fmt.Errorf("%w: serial %s", ca.ErrRevoked, p.Serial)
	}
	if len(m.PeerRoles) > 0 {
		ok := false
		for _, r := range m.PeerRoles {
			ok = ok || r == p.Role
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrRole, p.Role)
		}
	}
	return nil
}

// Guard wraps an inter-node HTTP handler: requests without an
// authenticated peer get 401, requests from a peer revoked or expired
// since its handshake get 403 and the connection is closed.
func Guard(m *Material, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PeerFrom(r.Context())
		if !ok {
			http.Error(w, "no authenticated peer", http.StatusUnauthorized)
			return
		}
		if err := m.Recheck(p); err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, "peer refused: "+err.Error(), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
