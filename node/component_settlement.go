package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/pii"
	"github.com/ybfed/ybfed/crypto/sm"
	"github.com/ybfed/ybfed/federation/route"
	"github.com/ybfed/ybfed/node/config"
	"github.com/ybfed/ybfed/node/store"
	"github.com/ybfed/ybfed/subsystems/settlement"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// resolveInterval is how often queued reversals are retried.
const resolveInterval = 5 * time.Second

// sweepLease is how long a national node's reversal sweep lease lasts
// without renewal: a stopped holder's sweeps pass to another national node
// sharing the database after at most this long.
const sweepLease = 3 * resolveInterval

// SettlementComponent runs settlement on a node. On a province node it is
// the hospital API (service), the insured-place endpoint for routed
// transactions and the client that routes cross-province ones to the hub;
// on the national node it is the hub (journal, forwarding, clearing).
type SettlementComponent struct {
	mat *link.Material
	dir route.Directory

	// Catalogue is the treatment place's catalogue; nil uses
	// service.DemoCatalogue until reference data provides it.
	Catalogue settlement.Catalogue
	// Policies are the insured places' policies; nil uses
	// service.DemoPolicy for the node's province.
	Policies service.PolicySource
	// RouteTimeout bounds a routed call (default 10 s).
	RouteTimeout time.Duration
	// OnHub, on the national node, is told about every transaction the hub
	// handled (the console's traffic page).
	OnHub func(route.HubEvent)
	// PreCheck checks settlements before they are answered (supervision's
	// pre-settlement rules); nil skips it.
	PreCheck service.PreChecker
	// Index is the national person index for 1101 of persons insured in
	// other provinces (province nodes holding the federation key).
	Index service.PersonIndex

	svc      *service.Service
	hub      *route.Hub
	hubDB    *store.DB // the shared hub database (Host.HubDB), nil when the node's own
	notReady error
	client   *route.Client
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

var _ Component = (*SettlementComponent)(nil)

// NewSettlementComponent builds the settlement component from the node's
// GM TLS material and the routing table (membership provides it).
func NewSettlementComponent(m *link.Material, dir route.Directory) *SettlementComponent {
	return &SettlementComponent{mat: m, dir: dir}
}

// Name is "settlement".
func (c *SettlementComponent) Name() string { return "settlement" }

// Service returns the province service (nil on the national node or
// before Start).
func (c *SettlementComponent) Service() *service.Service { return c.svc }

// Hub returns the national hub (nil on a province node or before Start).
func (c *SettlementComponent) Hub() *route.Hub { return c.hub }

// Start migrates the tables, registers the hospital, admin (hospital and
// filing registration) and internode routes and starts the retry loop for
// queued reversals.
func (c *SettlementComponent) Start(ctx context.Context, h *Host) error {
	cfg := h.Config
	log := h.Log.With("component", "settlement")
	if c.mat == nil || c.dir == nil {
		if cfg.Node.Role == config.RoleNational {
			c.notReady = errors.New("settlement hub not started: the node has no GM TLS material or routing table yet")
			log.Warn(c.notReady.Error())
			return nil
		}
		log.Warn("no GM TLS material or routing table: cross-province settlement is off")
	}
	var resolve func(context.Context) (int, error)
	if cfg.Node.Role == config.RoleNational {
		db := h.DB
		if h.HubDB != nil {
			db, c.hubDB = h.HubDB, h.HubDB
			log.Info("settlement hub on the shared database", "hub", cfg.Node.NodeID())
		}
		hub, err := route.NewHub(route.HubOptions{Name: cfg.Node.NodeID(), DB: db, Material: c.mat, Directory: c.dir, Log: log, Timeout: c.RouteTimeout, Observe: c.OnHub})
		if err == nil {
			err = hub.Migrate(ctx)
		}
		if err != nil {
			return err
		}
		if h.Internode != nil {
			hub.Register(h.Internode)
		}
		if h.Admin != nil {
			hub.RegisterAdmin(h.Admin)
		}
		// National nodes sharing the database share the queued reversals:
		// one sweeps at a time, under a lease renewed on every tick, which
		// another takes over when the holder stops (see route.Hub.Sweep).
		c.hub, resolve = hub, func(ctx context.Context) (int, error) {
			n, _, err := hub.Sweep(ctx, sweepLease)
			return n, err
		}
	} else {
		keys, err := piiKeyring(filepath.Join(cfg.DataDir, "pii.keys"))
		if err != nil {
			return fmt.Errorf("settlement: %w", err)
		}
		opt := service.Options{Admdvs: cfg.Node.Admdvs, DB: h.DB, Log: log, Keys: keys, Catalogue: c.Catalogue,
			Policies: c.Policies, RouteTimeout: c.RouteTimeout, PreCheck: c.PreCheck}
		if opt.Catalogue == nil {
			opt.Catalogue = service.DemoCatalogue()
		}
		if opt.Policies == nil {
			opt.Policies = service.PolicyMap{cfg.Node.Admdvs: service.DemoPolicy(cfg.Node.Admdvs)}
		}
		if c.mat != nil && c.dir != nil {
			if c.client, err = route.NewClient(route.ClientOptions{Material: c.mat, Directory: c.dir, Log: log}); err != nil {
				return err
			}
			opt.Router = c.client
			if c.Index != nil {
				sealer, err := route.NewSealer(c.mat)
				if err != nil {
					return err
				}
				opt.Index, opt.Sealer = c.Index, sealer
			}
		}
		svc, err := service.New(opt)
		if err != nil {
			return err
		}
		if err := svc.Migrate(ctx); err != nil {
			return err
		}
		svc.Register(h.Hospital)
		if h.Admin != nil {
			svc.RegisterAdmin(h.Admin)
		}
		if c.mat != nil && h.Internode != nil {
			ins, err := route.NewInsured(c.mat, svc, log)
			if err != nil {
				return err
			}
			ins.Register(h.Internode)
		}
		c.svc, resolve = svc, svc.ResolvePending
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.stop = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(resolveInterval)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if n, err := resolve(lctx); err != nil && lctx.Err() == nil {
					log.Warn("queued reversals not all delivered", "delivered", n, "err", err)
				}
			}
		}
	}()
	return nil
}

// Ready is nil once started, or says why settlement is not running.
func (c *SettlementComponent) Ready(ctx context.Context) error {
	if c.notReady != nil {
		return c.notReady
	}
	if c.svc == nil && c.hub == nil {
		return errors.New("settlement not started")
	}
	if c.hubDB != nil {
		// A hub whose shared database does not answer cannot journal:
		// not ready, so that provinces prefer another national node.
		if err := c.hubDB.Ping(ctx); err != nil {
			return fmt.Errorf("settlement hub database: %w", err)
		}
	}
	return nil
}

// Stop ends the retry loop and drops pooled connections.
func (c *SettlementComponent) Stop(ctx context.Context) error {
	if c.stop != nil {
		c.stop()
		c.wg.Wait()
	}
	if c.client != nil {
		c.client.Close()
	}
	if c.hub != nil {
		c.hub.Close()
	}
	return nil
}

// PIIKeyring loads the PII keys of the node whose data directory is
// dataDir, as the running node does (commands that write personal data
// into a node's database, such as `ybnode seed`, need them).
func PIIKeyring(dataDir string) (*pii.Keyring, error) {
	return piiKeyring(filepath.Join(dataDir, "pii.keys"))
}

// piiKeyring loads the node's PII keys (SM4 field key and blind-index key,
// hex on two lines), creating them (0600) on first use.
func piiKeyring(path string) (*pii.Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err1 := sm.RandomKey(sm.KeySize)
		ix, err2 := sm.RandomKey(32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("pii keys: %w", err)
		}
		b = []byte(hex.EncodeToString(k) + "\n" + hex.EncodeToString(ix) + "\n")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("pii keys: %w", err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("pii keys: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("pii keys: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return nil, fmt.Errorf("pii keys %s: want two hex lines", path)
	}
	k, err1 := hex.DecodeString(lines[0])
	ix, err2 := hex.DecodeString(lines[1])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pii keys %s: %w", path, err)
	}
	return pii.NewKeyring("k1", map[string][]byte{"k1": k}, ix)
}
