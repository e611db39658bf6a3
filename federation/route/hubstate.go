package route

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

// PathHubState is the hub's admin endpoint (GET): its clearing journal in
// force and the transactions still in flight.
const PathHubState = "/v1/settlement/hub"

// HubState is the answer of GET PathHubState.
type HubState struct {
	// Items are the clearing journal's items in force (every month).
	Items []settlement.ClearingItem `json:"items"`
	// Pending counts journal entries still pending or with a reversal not
	// yet delivered to the insured place.
	Pending int `json:"pending"`
}

// State reads the hub's journal (see HubState).
func (h *Hub) State(ctx context.Context) (*HubState, error) {
	items, err := h.Items(ctx, "")
	if err != nil {
		return nil, err
	}
	st := &HubState{Items: items}
	if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM hub_journal WHERE status IN (?, ?)`, hubPending, hubReversing).Scan(&st.Pending); err != nil {
		return nil, fmt.Errorf("hub state: %w", err)
	}
	return st, nil
}

// RegisterAdmin adds the hub's admin endpoint to r.
func (h *Hub) RegisterAdmin(r *mux.Router) {
	r.HandleFunc(PathHubState, func(w http.ResponseWriter, r *http.Request) {
		st, err := h.State(r.Context())
		if err != nil {
			h.log.Error("hub state", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	}).Methods(http.MethodGet)
}
