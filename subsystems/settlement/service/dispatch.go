package service

import (
	"context"

	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
)

// dispatch runs one validated transaction and returns the answer.
func (s *Service) dispatch(ctx context.Context, c *call) ([]byte, error) {
	remote := s.remote(c.req)
	txn := func(fn func(ctx context.Context, c *call, tx *store.Tx) (any, error)) ([]byte, error) {
		return s.write(ctx, c, func(tx *store.Tx) (any, error) { return fn(ctx, c, tx) })
	}
	switch c.req.Infno {
	case settlement.Infno1101:
		return s.answer(c)(s.personInfo(ctx, c))
	case settlement.Infno2201, settlement.Infno2401:
		return txn(s.register)
	case settlement.Infno2203:
		return txn(s.diagnose)
	case settlement.Infno2204, settlement.Infno2301:
		return txn(s.uploadFees)
	case settlement.Infno2205:
		return txn(s.cancelFees)
	case settlement.Infno2402:
		return txn(s.discharge)
	case settlement.Infno2206, settlement.Infno2303:
		if remote {
			return s.settleRouted(ctx, c, true)
		}
		return s.answer(c)(s.settleLocal(ctx, c, s.db, nil))
	case settlement.Infno2207, settlement.Infno2304:
		if remote {
			return s.settleRouted(ctx, c, false)
		}
		return txn(func(ctx context.Context, c *call, tx *store.Tx) (any, error) { return s.settleLocal(ctx, c, tx, tx) })
	case settlement.Infno2208, settlement.Infno2305:
		if remote {
			return s.cancelRouted(ctx, c)
		}
		return txn(s.cancelLocal)
	case settlement.Infno2501, settlement.Infno2503:
		return txn(s.file)
	case settlement.Infno2502, settlement.Infno2504:
		return txn(s.unfile)
	case settlement.Infno2601:
		if remote {
			return s.reverseRouted(ctx, c)
		}
		return txn(s.reverseLocal)
	case settlement.Infno3201, settlement.Infno3202:
		return s.answer(c)(s.reconcile(ctx, c))
	case settlement.Infno5206:
		if remote {
			return s.queryRouted(ctx, c)
		}
		return s.answer(c)(s.accumInfo(ctx, c.in.(*settlement.Input5206).Data))
	}
	return nil, settlement.Errorf(settlement.EINVALID, "infno: %s is not served by this node", c.req.Infno)
}

// answer turns a read-only result into the answer envelope.
func (s *Service) answer(c *call) func(out any, err error) ([]byte, error) {
	return func(out any, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return s.success(c, out)
	}
}
