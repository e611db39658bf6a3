package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/internal/fen"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// TypeStatement is the envelope type of a signed clearing statement.
const TypeStatement = "ybfed.clearing.statement.v1"

// SignedStatement is what the hub signs for one province: its part of the
// month's clearing and the items behind it, which the province checks
// transaction by transaction against its own records.
type SignedStatement struct {
	Province  string                       `json:"province"`
	Statement settlement.ProvinceStatement `json:"statement"`
	Items     []settlement.ClearingItem    `json:"items"`
}

// ClearingRun is the result of a monthly clearing.
type ClearingRun struct {
	Statement settlement.Statement
	// Statements maps a province to its signed statement (envelope wire form).
	Statements map[string][]byte
}

// SetPrepaid records the prepaid fund (预付金) payer holds with payee.
func (h *Hub) SetPrepaid(ctx context.Context, payer, payee string, amount fen.Fen) error {
	if amount < 0 {
		return errors.New("prepaid: negative amount")
	}
	return h.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO hub_prepaid (payer, payee, amount) VALUES (?, ?, ?)
			ON CONFLICT (payer, payee) DO UPDATE SET amount = excluded.amount`, payer, payee, int64(amount))
		if err != nil {
			return fmt.Errorf("prepaid %s→%s: %w", payer, payee, err)
		}
		return nil
	})
}

// clearingLease bounds a clearing run's hold on its month.
const clearingLease = 10 * time.Minute

// Clear runs the monthly clearing of month (yyyy-MM): net positions per
// province pair from the clearing journal, offset against prepaid funds,
// and one SM2-signed statement per province, stored and returned.
//
// Among hubs sharing the database one runs a month's clearing at a time:
// the run holds the month's lease (hub_lease) and releases it at the end;
// meanwhile another hub's Clear of that month returns a *LeaseHeldError.
// A later run (after a cancel or a reversal) replaces the statements.
func (h *Hub) Clear(ctx context.Context, month string, opt *settlement.ClearingOptions) (*ClearingRun, error) {
	job := jobClearing + month
	if err := h.Acquire(ctx, job, clearingLease); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", month, err)
	}
	defer func() {
		if err := h.Release(context.WithoutCancel(ctx), job); err != nil {
			h.log.Warn("clearing lease not released; it expires by itself", "month", month, "err", err)
		}
	}()
	items, err := h.Items(ctx, month)
	if err != nil {
		return nil, err
	}
	rows, err := h.db.Query(ctx, `SELECT payer, payee, amount FROM hub_prepaid ORDER BY payer, payee`)
	if err != nil {
		return nil, fmt.Errorf("clearing: prepaid: %w", err)
	}
	var prepaid []settlement.Prepaid
	for rows.Next() {
		var p settlement.Prepaid
		var a int64
		if err := rows.Scan(&p.Payer, &p.Payee, &a); err != nil {
			rows.Close()
			return nil, fmt.Errorf("clearing: prepaid: %w", err)
		}
		p.Amount = fen.Fen(a)
		prepaid = append(prepaid, p)
	}
	rows.Close()
	var o settlement.ClearingOptions
	if opt != nil {
		o = *opt
	}
	st, err := settlement.Clear(month, items, prepaid, o)
	if err != nil {
		return nil, fmt.Errorf("clearing %s: %w", month, err)
	}
	run := &ClearingRun{Statement: st, Statements: map[string][]byte{}}
	for _, p := range st.Provinces {
		ss := SignedStatement{Province: p.Province, Statement: st.For(p.Province), Items: []settlement.ClearingItem{}}
		for _, it := range items {
			if settlement.Province(it.InsuplcAdmdvs) == p.Province || settlement.Province(it.MdtrtareaAdmdvs) == p.Province {
				ss.Items = append(ss.Items, it)
			}
		}
		payload, err := json.Marshal(ss)
		if err != nil {
			return nil, fmt.Errorf("clearing: %w", err)
		}
		env, err := h.c.signer.Sign(TypeStatement, payload)
		if err != nil {
			return nil, fmt.Errorf("clearing: sign: %w", err)
		}
		b, err := env.Encode()
		if err != nil {
			return nil, err
		}
		run.Statements[p.Province] = b
	}
	err = h.db.Tx(ctx, func(tx *store.Tx) error {
		for prov, b := range run.Statements {
			_, err := tx.Exec(ctx, `INSERT INTO hub_statement (month, province, envelope) VALUES (?, ?, ?)
				ON CONFLICT (month, province) DO UPDATE SET envelope = excluded.envelope`, month, prov, string(b))
			if err != nil {
				return fmt.Errorf("clearing: store statement: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.log.Info("clearing run", "month", month, "items", st.Items, "provinces", len(st.Provinces))
	return run, nil
}

// statementWindow is how old a statement may be when a province checks it.
const statementWindow = 400 * 24 * time.Hour

// VerifyStatement checks a statement's signature by a national node of
// the federation rooted at root and returns its content.
func VerifyStatement(root *ca.Certificate, wire []byte) (*SignedStatement, error) {
	v, err := envelope.NewVerifier(root, envelope.VerifierOptions{Window: statementWindow})
	if err != nil {
		return nil, err
	}
	env, who, err := v.VerifyBytes(wire, "")
	if err != nil {
		return nil, fmt.Errorf("clearing statement: %w", err)
	}
	if who.Role != ca.RoleNational || env.Type != TypeStatement {
		return nil, fmt.Errorf("clearing statement: signed by %s (%s), type %q", who.Admdvs, who.Role, env.Type)
	}
	var ss SignedStatement
	if err := json.Unmarshal(env.Payload, &ss); err != nil {
		return nil, fmt.Errorf("clearing statement: %w", err)
	}
	return &ss, nil
}
