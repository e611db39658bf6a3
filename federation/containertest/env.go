package containertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Env is what every federation of one test run shares: the docker client,
// the run id and the node image. Set it up once (TestMain) and Close it
// after the tests.
type Env struct {
	// Docker is the docker client.
	Docker *Docker
	// Run labels everything this run creates.
	Run string
	// Root is the module root.
	Root string
	// Binary is the static ybnode binary inside the image.
	Binary string
	// Image is the node image tag.
	Image string
	// Logf receives progress lines (may be nil).
	Logf func(format string, args ...any)

	tmp string
}

// SetupOptions adjust Setup.
type SetupOptions struct {
	// Binary is a prebuilt static ybnode; empty builds one from Root.
	Binary string
	// Root is the module root; empty finds it from the working directory.
	Root string
	// StaleAge is how old a leftover of another run must be to be removed
	// (default one hour).
	StaleAge time.Duration
	// Logf receives progress lines (may be nil).
	Logf func(format string, args ...any)
}

// Setup checks that Docker answers, removes stale leftovers of crashed
// runs, builds the static binary (unless given) and the node image.
func Setup(ctx context.Context, o SetupOptions) (*Env, error) {
	if err := Available(ctx); err != nil {
		return nil, err
	}
	d, err := NewDocker()
	if err != nil {
		return nil, err
	}
	e := &Env{Docker: d, Run: NewRunID(), Logf: o.Logf}
	if e.Root = o.Root; e.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
		if e.Root, err = ModuleRoot(wd); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	age := o.StaleAge
	if age <= 0 {
		age = time.Hour
	}
	if err := d.RemoveStale(ctx, age); err != nil {
		e.logf("removing stale leftovers: %v", err)
	}
	if e.tmp, err = os.MkdirTemp("", "ybfed-ct-"); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if e.Binary = o.Binary; e.Binary == "" {
		e.Binary = filepath.Join(e.tmp, "ybnode")
		start := time.Now()
		if err := BuildBinary(ctx, e.Root, e.Binary); err != nil {
			e.Close(ctx)
			return nil, err
		}
		e.logf("built static ybnode in %s", time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	if e.Image, err = d.BuildNodeImage(ctx, e.Binary, e.Run); err != nil {
		e.Close(ctx)
		return nil, err
	}
	e.logf("built image %s in %s", e.Image, time.Since(start).Round(time.Millisecond))
	return e, nil
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// Close removes the run's image and everything else still labelled with
// the run, and the temporary files.
func (e *Env) Close(ctx context.Context) error {
	var err error
	if e.Docker != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		err = e.Docker.RemoveRun(ctx, e.Run)
	}
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
	}
	return err
}
