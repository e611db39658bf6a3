package node

import (
	"github.com/ybfed/ybfed/node/config"
)

// Build assembles a node with every component its configuration calls for.
// It is the one place that knows all components; cmd/ybnode and the demo
// both start nodes through it.
func Build(cfg *config.Config, opts Options) (*Node, error) {
	return New(cfg, opts), nil
}
