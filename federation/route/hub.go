package route

import (
	"context"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service/groupcommit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// EUNAVAILABLE is the reply code of a transaction that could not reach the
// insured place; nothing was (or will stay) done.
const EUNAVAILABLE = "unavailable"

// Hub journal statuses.
const (
	hubPending   = "pending"
	hubDone      = "done"
	hubReversing = "reversing"
	hubReversed  = "reversed"
	hubFailed    = "failed"
)

// Clearing item statuses.
const (
	clearInForce  = "in_force"
	clearReversed = "reversed"
)

// HubOptions configure a Hub.
//
// Several national nodes may run a Hub each on one shared PostgreSQL or
// CockroachDB database: journal, clearing items and statements are keyed
// by msgid (and month, province) in that database, every write is a
// serializable transaction (store.DB.Tx, crdb.ExecuteTx on CockroachDB),
// so a transaction repeated through another hub finds the first hub's
// answer, and queued reversals are delivered by whichever hub sweeps.
type HubOptions struct {
	// Name identifies this hub among those sharing the database (the
	// national node's name, e.g. 100000-2), as the holder of job leases;
	// default the certificate's admdvs.
	Name      string
	DB        *store.DB
	Material  *link.Material
	Directory Directory
	Log       *slog.Logger
	// Timeout bounds one forward to an insured node when the request
	// carries no tighter deadline (default 10 s).
	Timeout time.Duration
	Now     func() time.Time
	// Observe, if set, is told about every transaction the hub handled,
	// for the national console's traffic page.
	Observe func(HubEvent)
}

// HubEvent is one transaction the hub handled.
type HubEvent struct {
	Kind      string
	Treatment string // province of the treatment place
	Insured   string // province of the insured place
	Took      time.Duration
	Failed    bool
}

// Hub is the national node's routing and clearing service.
type Hub struct {
	name    string
	c       *caller
	db      *store.DB
	gc      *groupcommit.Committer // journal transactions, group-committed on SQLite
	dir     Directory
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time
	observe func(HubEvent)
}

// NewHub returns a hub; call Migrate before use.
func NewHub(o HubOptions) (*Hub, error) {
	if o.DB == nil || o.Directory == nil {
		return nil, errors.New("route hub: store and directory are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c, err := newCaller(o.Material, o.Log)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Name == "" {
		o.Name = o.Material.Self().Admdvs
	}
	return &Hub{name: o.Name, c: c, db: o.DB, gc: groupcommit.New(o.DB), dir: o.Directory, log: o.Log.With("component", "route-hub", "hub", o.Name), timeout: o.Timeout, now: o.Now, observe: o.Observe}, nil
}

// Migrate creates or upgrades the hub's tables.
func (h *Hub) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("route hub: %w", err)
	}
	return h.db.Migrate(ctx, "route_hub", sub)
}

// Register adds the hub endpoint to the internode router.
func (h *Hub) Register(r *mux.Router) { r.Handle(PathHub, h).Methods(http.MethodPost) }

// Close drops pooled connections.
func (h *Hub) Close() { h.c.http.Close() }

// ServeHTTP answers a province node. A request refused before processing
// gets a non-200 status; every processed one a signed Reply.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, who, err := h.c.receive(r, ca.RoleProvince)
	if err != nil {
		h.log.Warn("hub: request refused", "signer", who.Admdvs, "err", err)
		http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		return
	}
	if settlement.Province(req.Treatment) != who.Admdvs {
		http.Error(w, fmt.Sprintf("refused: %s may not send for treatment place %s", who.Admdvs, req.Treatment), http.StatusForbidden)
		return
	}
	var reply *Reply
	start := time.Now()
	defer func() {
		if h.observe != nil {
			h.observe(HubEvent{Kind: req.Kind, Treatment: settlement.Province(req.Treatment), Insured: settlement.Province(req.Insuplc),
				Took: time.Since(start), Failed: err != nil || reply == nil || reply.Code != ""})
		}
	}()
	switch req.Kind {
	case KindSettle, KindCancel:
		reply, err = h.settle(r.Context(), req)
	case KindReverse:
		reply, err = h.reverse(r.Context(), req)
	default:
		reply = h.relay(r.Context(), req)
	}
	if err != nil {
		h.log.Error("hub: transaction failed", "msgid", req.Msgid, "kind", req.Kind, "err", err)
		http.Error(w, "hub: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h.c.reply(w, reply)
}

// insured returns the address of the insured place's node.
func (h *Hub) insured(req *Request) (string, string, bool) {
	p := settlement.Province(req.Insuplc)
	addr, ok := h.dir.Lookup(p)
	return p, addr, ok
}

// noRoute answers a request for an insured place with no live node: a
// center known to the federation (all its nodes down for now) is
// unavailable and the request may be repeated; any other is refused.
func (h *Hub) noRoute(prov string, req *Request) *Reply {
	if k, ok := h.dir.(KnownDirectory); ok && k.Known(prov) {
		return unavailable("insured place %s has no node alive: nothing was settled; retry later with the same msgid", prov)
	}
	return &Reply{Code: settlement.EINVALID, ErrMsg: fmt.Sprintf("insuplc_admdvs: no federation node serves %s", req.Insuplc)}
}

func unavailable(format string, args ...any) *Reply {
	return &Reply{Code: EUNAVAILABLE, ErrMsg: fmt.Sprintf(format, args...)}
}

// relay forwards a read-only transaction and relays the answer.
func (h *Hub) relay(ctx context.Context, req *Request) *Reply {
	prov, addr, ok := h.insured(req)
	if !ok {
		return h.noRoute(prov, req)
	}
	fctx, cancel := deadlineCtx(ctx, req, h.timeout)
	defer cancel()
	reply, err := h.c.send(fctx, prov, addr, PathInsured, req)
	if err != nil {
		h.log.Warn("hub: relay failed", "msgid", req.Msgid, "to", prov, "err", err)
		return unavailable("insured place %s did not answer: %v", prov, shortErr(err))
	}
	return reply
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

type hubRow struct {
	msgid, kind, infno, treatment, insuplc, fixmedins, psnNo, status, sealedFor string
	reply                                                                       []byte
}

func getHubRow(ctx context.Context, tx *store.Tx, msgid string) (*hubRow, error) {
	r := &hubRow{msgid: msgid}
	var reply string
	err := tx.QueryRow(ctx, `SELECT kind, infno, treatment, insuplc, fixmedins_code, psn_no, status, reply, sealed_for FROM hub_journal WHERE msgid = ?`, msgid).
		Scan(&r.kind, &r.infno, &r.treatment, &r.insuplc, &r.fixmedins, &r.psnNo, &r.status, &reply, &r.sealedFor)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hub journal %s: %w", msgid, err)
	}
	r.reply = []byte(reply)
	return r, nil
}

func (h *Hub) setStatus(ctx context.Context, tx *store.Tx, msgid, status string, reply []byte) error {
	_, err := tx.Exec(ctx, `UPDATE hub_journal SET status = ?, reply = ?, updated = ? WHERE msgid = ?`, status, string(reply), h.now().UnixMilli(), msgid)
	if err != nil {
		return fmt.Errorf("hub journal %s: %w", msgid, err)
	}
	return nil
}

func reversedReply(msgid string) *Reply {
	return &Reply{Code: settlement.ECONFLICT, ErrMsg: fmt.Sprintf("msgid: %s was reversed (冲正); use a new msgid", msgid)}
}

// settle handles a settlement or cancel: journal, forward, store, reply.
func (h *Hub) settle(ctx context.Context, req *Request) (*Reply, error) {
	prov, addr, ok := h.insured(req)
	if !ok {
		return h.noRoute(prov, req), nil
	}
	// A repeat returns the stored reply; a reversed msgid is refused. No
	// row is written before forwarding: a reversal that arrives meanwhile
	// writes its own, which the answer below then respects.
	var status, stored, storedFor string
	sf := sealedFor(req)
	err := h.db.QueryRow(ctx, `SELECT status, reply, sealed_for FROM hub_journal WHERE msgid = ?`, req.Msgid).Scan(&status, &stored, &storedFor)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("hub journal %s: %w", req.Msgid, err)
	case status == hubDone:
		var r Reply
		if err := json.Unmarshal([]byte(stored), &r); err != nil {
			return nil, fmt.Errorf("hub journal %s: %w", req.Msgid, err)
		}
		if otherKeys(storedFor, sf) {
			return h.resealed(ctx, req, prov, addr, &r), nil
		}
		return &r, nil
	case status != hubPending:
		return reversedReply(req.Msgid), nil
	}

	fctx, cancel := deadlineCtx(ctx, req, h.timeout)
	reply, ferr := h.c.send(fctx, prov, addr, PathInsured, req)
	cancel()
	if ferr == nil {
		var out *Reply
		err := h.gc.Tx(ctx, func(tx *store.Tx) error {
			out = reply
			row, err := getHubRow(ctx, tx, req.Msgid)
			if err != nil {
				return err
			}
			switch {
			case row != nil && row.status == hubDone && otherKeys(row.sealedFor, sf):
				return nil // a concurrent repeat from other keys: this answer is sealed for us
			case row != nil && row.status == hubDone:
				out = &Reply{}
				return json.Unmarshal(row.reply, out)
			case row != nil && row.status != hubPending:
				out = reversedReply(req.Msgid) // a reversal overtook us; it undoes the insured side
				return nil
			case reply.Code != "":
				return nil // refused: nothing to journal
			}
			b, err := reply.Encode()
			if err != nil {
				return err
			}
			if row == nil {
				_, err = tx.Exec(ctx, `INSERT INTO hub_journal (msgid, kind, infno, treatment, insuplc, fixmedins_code, psn_no, status, reply, sealed_for, updated)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, req.Msgid, req.Kind, req.Infno, req.Treatment, req.Insuplc, req.FixmedinsCode, req.PsnNo, hubDone, string(b), sf, h.now().UnixMilli())
			} else {
				_, err = tx.Exec(ctx, `UPDATE hub_journal SET status = ?, reply = ?, sealed_for = ?, updated = ? WHERE msgid = ?`, hubDone, string(b), sf, h.now().UnixMilli(), req.Msgid)
			}
			if err != nil {
				return fmt.Errorf("hub journal %s: %w", req.Msgid, err)
			}
			if c := reply.Clearing; c != nil {
				_, err := tx.Exec(ctx, `INSERT INTO hub_clearing (msgid, setl_id, month, treatment, insuplc, fund_pay, acct_pay, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					req.Msgid, c.SetlID, c.Month, c.MdtrtareaAdmdvs, c.InsuplcAdmdvs, int64(c.FundPay), int64(c.AcctPay), clearInForce)
				if err != nil {
					return fmt.Errorf("hub clearing %s: %w", req.Msgid, err)
				}
			}
			return nil
		})
		return out, err
	}
	if errors.Is(ferr, ErrNotDelivered) {
		h.log.Warn("hub: insured node unreachable", "msgid", req.Msgid, "to", prov, "err", ferr)
		return unavailable("insured place %s is unreachable: nothing was settled; retry later with the same msgid", prov), nil
	}
	// Unknown outcome: the insured node may have settled. Reverse it there.
	h.log.Warn("hub: no answer from insured node, reversing", "msgid", req.Msgid, "to", prov, "err", ferr)
	var done *Reply
	err = h.gc.Tx(ctx, func(tx *store.Tx) error {
		done = nil
		row, err := getHubRow(ctx, tx, req.Msgid)
		switch {
		case err != nil:
			return err
		case row != nil && row.status == hubDone:
			// A concurrent repeat of the msgid got the answer: keep it.
			done = &Reply{}
			return json.Unmarshal(row.reply, done)
		case row == nil:
			_, err := tx.Exec(ctx, `INSERT INTO hub_journal (msgid, kind, infno, treatment, insuplc, fixmedins_code, psn_no, status, reply, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?)`, req.Msgid, req.Kind, req.Infno, req.Treatment, req.Insuplc, req.FixmedinsCode, req.PsnNo, hubReversing, h.now().UnixMilli())
			return err
		case row.status == hubPending:
			return h.setStatus(ctx, tx, req.Msgid, hubReversing, row.reply)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if done != nil {
		return done, nil
	}
	rctx, cancel := deadlineCtx(ctx, req, h.timeout)
	defer cancel()
	if h.pushReverse(rctx, req.Msgid) == nil {
		return unavailable("insured place %s did not answer in time; the transaction was reversed (冲正) there and nothing was paid", prov), nil
	}
	return unavailable("insured place %s did not answer in time; its reversal (冲正) is queued at the hub and nothing will be paid", prov), nil
}

// sealedFor is the digest of the keys req's reply is sealed under: the
// treatment node's encryption certificate and the insured node's serial;
// "" for a request with nothing sealed.
func sealedFor(req *Request) string {
	if len(req.Private) == 0 {
		return ""
	}
	d := sm.Hash([]byte(req.ReplyTo + "\x00" + req.SealedTo))
	return hex.EncodeToString(d[:16])
}

// otherKeys reports whether a reply journaled sealed for stored cannot be
// opened by the sender of a request sealed for now.
func otherKeys(stored, now string) bool { return stored != "" && now != "" && stored != now }

// resealed answers a repeat of a settled msgid from a treatment node that
// holds other keys than the journaled reply is sealed for (another node of
// the province, a renewed encryption certificate): the hub cannot read or
// reseal that reply, so it asks the insured node, which answers the repeat
// from its own store of the msgid, sealed for this sender; nothing new is
// journaled. If the insured node does not answer, the journaled reply is
// returned: the sender cannot open it and reverses the msgid.
func (h *Hub) resealed(ctx context.Context, req *Request, prov, addr string, journaled *Reply) *Reply {
	fctx, cancel := deadlineCtx(ctx, req, h.timeout)
	defer cancel()
	reply, err := h.c.send(fctx, prov, addr, PathInsured, req)
	if err != nil {
		h.log.Warn("hub: repeat from other keys, insured node did not answer; returning the journaled reply", "msgid", req.Msgid, "to", prov, "err", err)
		return journaled
	}
	h.log.Info("hub: repeat from other keys answered by the insured node", "msgid", req.Msgid, "to", prov, "code", reply.Code)
	return reply
}

// reverse handles a reversal from a treatment node: the hub records it
// durably (a tombstone when the original never reached the hub), then
// reverses at the insured node, now or later (ResolvePending).
func (h *Hub) reverse(ctx context.Context, req *Request) (*Reply, error) {
	om := req.Reverse.Omsgid
	err := h.gc.Tx(ctx, func(tx *store.Tx) error {
		row, err := getHubRow(ctx, tx, om)
		if err != nil {
			return err
		}
		switch {
		case row == nil:
			_, err := tx.Exec(ctx, `INSERT INTO hub_journal (msgid, kind, infno, treatment, insuplc, fixmedins_code, psn_no, status, reply, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?)`, om, KindSettle, req.Reverse.Oinfno, req.Treatment, req.Insuplc, req.FixmedinsCode, req.Reverse.PsnNo, hubReversing, h.now().UnixMilli())
			if err != nil {
				return fmt.Errorf("hub journal %s: %w", om, err)
			}
			return nil
		case row.fixmedins != req.FixmedinsCode || settlement.Province(row.treatment) != settlement.Province(req.Treatment):
			return errForeign
		case row.status == hubPending || row.status == hubDone:
			return h.setStatus(ctx, tx, om, hubReversing, row.reply)
		}
		return nil
	})
	if errors.Is(err, errForeign) {
		return &Reply{Code: settlement.EFORBIDDEN, ErrMsg: fmt.Sprintf("input.data.omsgid: %s was sent by another institution", om)}, nil
	}
	if err != nil {
		return nil, err
	}
	rctx, cancel := deadlineCtx(ctx, req, h.timeout)
	defer cancel()
	perr := h.pushReverse(rctx, om)
	return &Reply{Reversed: perr == nil}, nil
}

var errForeign = errors.New("foreign msgid")

// pushReverse delivers the reversal of msgid to the insured node and, once
// acknowledged, takes the transaction out of clearing.
func (h *Hub) pushReverse(ctx context.Context, msgid string) error {
	var row *hubRow
	err := h.gc.Tx(ctx, func(tx *store.Tx) error {
		var err error
		row, err = getHubRow(ctx, tx, msgid)
		return err
	})
	if err != nil {
		return err
	}
	if row == nil || row.status != hubReversing {
		return nil
	}
	prov, addr, ok := h.insured(&Request{Insuplc: row.insuplc})
	if !ok {
		return fmt.Errorf("hub: no route to %s", row.insuplc)
	}
	rev := &Request{Kind: KindReverse, Msgid: "rev:" + msgid, Infno: settlement.Infno2601, Treatment: row.treatment, Insuplc: row.insuplc,
		FixmedinsCode: row.fixmedins, PsnNo: row.psnNo, Reverse: &settlement.Reversal{PsnNo: row.psnNo, Omsgid: msgid, Oinfno: row.infno}}
	if dl, ok := ctx.Deadline(); ok {
		rev.Deadline = dl.UnixMilli()
	}
	reply, err := h.c.send(ctx, prov, addr, PathInsured, rev)
	if err != nil {
		h.log.Warn("hub: reversal not delivered yet", "msgid", msgid, "to", prov, "err", err)
		return err
	}
	status := hubReversed
	if reply.Code != "" {
		status = hubFailed
		h.log.Error("hub: insured node refused the reversal", "msgid", msgid, "to", prov, "err_msg", reply.ErrMsg)
	}
	b, _ := json.Marshal(reply)
	return h.gc.Tx(ctx, func(tx *store.Tx) error {
		if err := h.setStatus(ctx, tx, msgid, status, b); err != nil {
			return err
		}
		if status != hubReversed {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE hub_clearing SET status = ? WHERE msgid = ?`, clearReversed, msgid)
		return err
	})
}

// ResolvePending retries the reversals not yet acknowledged by insured
// nodes and returns how many were delivered.
func (h *Hub) ResolvePending(ctx context.Context) (int, error) {
	rows, err := h.db.Query(ctx, `SELECT msgid FROM hub_journal WHERE status = ? ORDER BY updated LIMIT 1000`, hubReversing)
	if err != nil {
		return 0, fmt.Errorf("hub resolve: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("hub resolve: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	var errs []error
	for _, id := range ids {
		rctx, cancel := context.WithTimeout(ctx, h.timeout)
		err := h.pushReverse(rctx, id)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Items returns the clearing journal's items in force for month (all
// months when month is "").
func (h *Hub) Items(ctx context.Context, month string) ([]settlement.ClearingItem, error) {
	rows, err := h.db.Query(ctx, `SELECT msgid, setl_id, month, treatment, insuplc, fund_pay, acct_pay FROM hub_clearing
		WHERE status = ? AND (? = '' OR month = ?) ORDER BY msgid`, clearInForce, month, month)
	if err != nil {
		return nil, fmt.Errorf("hub clearing items: %w", err)
	}
	defer rows.Close()
	var out []settlement.ClearingItem
	for rows.Next() {
		var it settlement.ClearingItem
		var f, a int64
		if err := rows.Scan(&it.Msgid, &it.SetlID, &it.Month, &it.MdtrtareaAdmdvs, &it.InsuplcAdmdvs, &f, &a); err != nil {
			return nil, fmt.Errorf("hub clearing items: %w", err)
		}
		it.FundPay, it.AcctPay = fen.Fen(f), fen.Fen(a)
		out = append(out, it)
	}
	return out, rows.Err()
}

// JournalStatus returns the hub's status of msgid ("" when unknown).
func (h *Hub) JournalStatus(ctx context.Context, msgid string) (string, error) {
	var s string
	err := h.db.QueryRow(ctx, `SELECT status FROM hub_journal WHERE msgid = ?`, msgid).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}
