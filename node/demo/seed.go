package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ybfed/ybfed/federation/refdata"
	"github.com/ybfed/ybfed/federation/refdata/catalog"
	"github.com/ybfed/ybfed/node"
	"github.com/ybfed/ybfed/subsystems/basicinfo"
	"github.com/ybfed/ybfed/subsystems/settlement/service"
)

// SeedOptions shape the synthetic data a demo federation is filled with.
type SeedOptions struct {
	// Persons is the number of insured persons per province (default 300).
	Persons int
	// Seed makes the data deterministic: the same seed gives the same
	// people and hospital keys (default 1).
	Seed int64
	// CatalogScale divides the national catalogue size (default 200, about
	// 2,000 items); negative skips publishing the catalogue.
	CatalogScale int
	// CatalogTimeout bounds the wait until every node applied the
	// catalogue (default 60 s).
	CatalogTimeout time.Duration
	// Progress, when set, receives one line per completed step.
	Progress func(format string, args ...any)
}

// Province is what seeding created on one provincial node: its insured
// persons and its hospitals with their signing keys, and where the
// hospitals call.
type Province struct {
	Admdvs string
	// URL is the node's hospital API endpoint.
	URL       string
	Persons   []service.SeedPerson
	Hospitals []service.SeedHospital
	// Service is the node's settlement service.
	Service *service.Service

	// msgids numbers the hospitals' messages for every generator over
	// this province, from base (the seeding time), so none repeats one.
	msgids []*atomic.Uint64
	base   time.Time
}

// Seeded is the synthetic data of a demo federation.
type Seeded struct {
	Provinces []*Province
	// CatalogItems is how many catalogue items were published (0 when the
	// catalogue was already there or skipped); CatalogIndex is the raft
	// index every node applied.
	CatalogItems int
	CatalogIndex uint64
}

// Seed fills every provincial node with synthetic insured persons and
// hospitals (deterministic from o.Seed and the node's position), then
// publishes a slice of the synthetic national catalogue through raft from
// the national node, signed by its key, and waits until every node has
// applied it. It runs after Start.
func (f *Federation) Seed(ctx context.Context, o SeedOptions) (*Seeded, error) {
	if o.Persons == 0 {
		o.Persons = 300
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.CatalogScale == 0 {
		o.CatalogScale = 200
	}
	if o.CatalogTimeout == 0 {
		o.CatalogTimeout = 60 * time.Second
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	out := &Seeded{}
	// Let the reference-data raft take in every node before loading the
	// machine with data: a publish into a half-formed configuration only
	// makes the late nodes catch up from a snapshot.
	start := time.Now()
	if err := f.waitRaftComplete(ctx, o.CatalogTimeout); err != nil {
		return nil, err
	}
	provs := f.Nodes[1:]
	out.Provinces = make([]*Province, len(provs))
	errs := make([]error, len(provs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1)
	for i, n := range provs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out.Provinces[i], errs[i] = seedProvince(ctx, n, o.Persons, o.Seed+int64(i)*7919)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	progress("seeded %d insured persons and %d hospitals in %d provinces in %s",
		o.Persons*len(provs), 3*len(provs), len(provs), time.Since(start).Round(time.Millisecond))
	if o.CatalogScale < 0 {
		return out, nil
	}
	start = time.Now()
	items, idx, err := f.publishCatalog(ctx, o.Seed, catalog.Scale(o.CatalogScale))
	if err != nil {
		return nil, err
	}
	out.CatalogItems = items
	wctx, cancel := context.WithTimeout(ctx, o.CatalogTimeout)
	defer cancel()
	if err := f.waitApplied(wctx, idx); err != nil {
		return nil, err
	}
	out.CatalogIndex = idx
	if items > 0 {
		progress("published the national catalogue (1/%d scale, %d items) through raft; all %d nodes applied index %d in %s",
			o.CatalogScale, items, len(f.Nodes), idx, time.Since(start).Round(time.Millisecond))
	} else {
		progress("national catalogue already published; all %d nodes applied index %d", len(f.Nodes), idx)
	}
	return out, nil
}

func seedProvince(ctx context.Context, n *node.Node, persons int, seed int64) (*Province, error) {
	adm := n.Config().Node.Admdvs
	sc := n.Parts().Settlement
	if sc == nil || sc.Service() == nil {
		return nil, fmt.Errorf("demo: seed %s: settlement service not running", adm)
	}
	s, err := sc.Service().Seed(ctx, persons, seed)
	if err != nil {
		return nil, fmt.Errorf("demo: seed %s: %w", adm, err)
	}
	if err := indexProvince(ctx, n, s.Persons); err != nil {
		return nil, fmt.Errorf("demo: seed %s: %w", adm, err)
	}
	p := &Province{Admdvs: adm, URL: "http://" + n.Addr(node.Hospital) + service.Path,
		Persons: s.Persons, Hospitals: s.Hospitals, Service: sc.Service(), base: time.Now().In(cst).Truncate(time.Second)}
	for range s.Hospitals {
		p.msgids = append(p.msgids, new(atomic.Uint64))
	}
	return p, nil
}

// publishCatalog signs every namespace of the synthetic national catalogue
// at scale with the national node's key and publishes it, unless the
// namespace already has a version (a demo restarted on its old data). It
// returns the number of items published and the raft index to wait for.
func (f *Federation) publishCatalog(ctx context.Context, seed int64, scale catalog.Scale) (int, uint64, error) {
	nat := f.Nodes[0]
	rd := nat.Parts().Refdata
	m := nat.Material()
	if rd == nil || rd.Replicator() == nil || m == nil {
		return 0, 0, errors.New("demo: catalogue: the national node runs no reference data")
	}
	r := rd.Replicator()
	signer := &refdata.Signer{Key: m.SignKey, Cert: m.Sign}
	all := catalog.Generate(seed, scale)
	eff := catalog.DateOf(time.Now())
	version := uint64(time.Now().Unix())
	var items int
	var last uint64
	for _, ns := range catalog.Namespaces() {
		have, err := r.Store().Versions(ctx, string(ns))
		if err != nil {
			return 0, 0, fmt.Errorf("demo: catalogue: %w", err)
		}
		if len(have) > 0 {
			last = max(last, have[len(have)-1].Index)
			continue
		}
		parts, err := signer.Sign(string(ns), version, eff, catalog.Adds(all[ns]), 0)
		if err != nil {
			return 0, 0, fmt.Errorf("demo: catalogue: %w", err)
		}
		idx, err := r.PublishAll(ctx, parts)
		if err != nil {
			return 0, 0, fmt.Errorf("demo: catalogue %s: %w", ns, err)
		}
		items += len(all[ns])
		last = max(last, idx)
	}
	return items, last, nil
}

// waitApplied waits until every node's replicator applied index.
func (f *Federation) waitApplied(ctx context.Context, index uint64) error {
	errs := make([]error, len(f.Nodes))
	var wg sync.WaitGroup
	for i, n := range f.Nodes {
		rd := n.Parts().Refdata
		if rd == nil || rd.Replicator() == nil {
			errs[i] = fmt.Errorf("demo: %s runs no reference data", n.Config().Node.Admdvs)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rd.Replicator().WaitApplied(ctx, index); err != nil {
				errs[i] = fmt.Errorf("demo: %s: %w", n.Config().Node.Admdvs, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitRaftComplete waits until the national node's raft configuration
// holds every node and every node knows the leader and is not behind.
func (f *Federation) waitRaftComplete(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		why := f.raftIncomplete()
		if why == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: reference-data raft not complete after %s: %w", timeout, why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (f *Federation) raftIncomplete() error {
	rd := f.Nodes[0].Parts().Refdata
	if rd == nil || rd.Replicator() == nil {
		return errors.New("the national node runs no reference data")
	}
	have, err := rd.Replicator().Members()
	if err != nil {
		return err
	}
	if len(have) < len(f.Nodes) {
		return fmt.Errorf("%d of %d nodes in the raft configuration", len(have), len(f.Nodes))
	}
	for _, n := range f.Nodes {
		r := n.Parts().Refdata
		if r == nil || r.Replicator() == nil {
			return fmt.Errorf("%s runs no reference data", n.Config().Node.Admdvs)
		}
		if err := r.Replicator().Ready(node.RefdataMaxLag); err != nil {
			return fmt.Errorf("%s: %w", n.Config().Node.Admdvs, err)
		}
	}
	return nil
}

// indexProvince enrols the seeded persons in the province's basic-
// information register (the one source of who is insured where) and
// pushes their national index entries to the national node, so 1101
// without insuplc_admdvs finds them from any province. A node without the
// federation person-index key only registers them.
func indexProvince(ctx context.Context, n *node.Node, persons []service.SeedPerson) error {
	reg := n.Parts().BasicInfo
	if reg == nil {
		return nil
	}
	ps := make([]basicinfo.Person, 0, len(persons))
	for _, p := range persons {
		ps = append(ps, basicinfo.Person{PsnNo: p.PsnNo, Certno: p.Certno, Name: p.Name, Gend: p.Gend,
			Insutype: p.Insutype, InsuplcAdmdvs: p.Insuplc, Months: 120})
	}
	if _, err := reg.Import(ctx, ps, "demo-seed"); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if n.IndexKeys() == nil {
		return nil
	}
	// The register's background loop pushes too; pushing here makes the
	// index complete before the demo reports ready. A failed push is
	// retried by that loop.
	for range 20 {
		r, err := reg.PushIndex(ctx, 0)
		if err != nil {
			n.Log().Warn("person index push failed; the register retries", "err", err)
			return nil
		}
		if r.Applied == 0 {
			return nil
		}
	}
	return nil
}
