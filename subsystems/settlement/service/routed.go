package service

import (
	"context"

	"github.com/ybfed/ybfed/subsystems/settlement"
)

func (s *Service) noRoute(c *call) error {
	return settlement.Errorf(settlement.EFORBIDDEN, "insuplc_admdvs: %s is another province and this node does not route cross-province settlement", c.req.InsuplcAdmdvs)
}

func (s *Service) settleRouted(ctx context.Context, c *call, pre bool) ([]byte, error) {
	return nil, s.noRoute(c)
}

func (s *Service) cancelRouted(ctx context.Context, c *call) ([]byte, error) {
	return nil, s.noRoute(c)
}

func (s *Service) reverseRouted(ctx context.Context, c *call) ([]byte, error) {
	return nil, s.noRoute(c)
}

func (s *Service) queryRouted(ctx context.Context, c *call) ([]byte, error) {
	return nil, s.noRoute(c)
}

func (s *Service) personRouted(ctx context.Context, c *call) (any, error) {
	return nil, s.noRoute(c)
}
