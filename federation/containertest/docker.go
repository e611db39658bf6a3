package containertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Labels put on everything the harness creates.
const (
	// LabelRun names the test run that created a resource.
	LabelRun = "ybfed.test"
	// LabelCreated is the Unix time of creation, for removing leftovers.
	LabelCreated = "ybfed.created"
	// LabelCache marks images kept across runs (the PostgreSQL root).
	LabelCache = "ybfed.cache"
	// LabelFederation names one federation (one test) within a run.
	LabelFederation = "ybfed.federation"
)

// DefaultCallTimeout bounds one docker command.
const DefaultCallTimeout = 3 * time.Minute

// Docker runs the docker command-line client.
type Docker struct {
	// Bin is the docker client program.
	Bin string
	// Timeout bounds each call (DefaultCallTimeout when zero).
	Timeout time.Duration
	// Logf, if set, receives every command run and its failure.
	Logf func(format string, args ...any)
}

// NewDocker finds the docker client on PATH.
func NewDocker() (*Docker, error) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Docker{Bin: bin}, nil
}

// Error is a failed docker command with what it printed.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("docker %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs one docker command and returns its standard output, trimmed.
func (d *Docker) Run(ctx context.Context, args ...string) (string, error) {
	return d.RunInput(ctx, nil, args...)
}

// RunInput runs one docker command with stdin and returns its output.
func (d *Docker) RunInput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	to := d.Timeout
	if to <= 0 {
		to = DefaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if d.Logf != nil {
		d.Logf("docker %s", strings.Join(redact(args), " "))
	}
	if err := cmd.Run(); err != nil {
		e := &Error{Args: redact(args), Stderr: errb.String(), Err: err}
		if ctx.Err() != nil {
			e.Err = fmt.Errorf("%w (after %s)", ctx.Err(), to)
		}
		return strings.TrimSpace(out.String()), e
	}
	return strings.TrimSpace(out.String()), nil
}

// Combined runs one docker command and returns its standard output and
// error interleaved (docker logs replays a container's two streams).
func (d *Docker) Combined(ctx context.Context, args ...string) (string, error) {
	to := d.Timeout
	if to <= 0 {
		to = DefaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.CombinedOutput()
	if err != nil {
		return string(b), &Error{Args: redact(args), Err: err}
	}
	return string(b), nil
}

// redact hides environment values (passwords) in logged arguments.
func redact(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 1; i < len(out); i++ {
		if (out[i-1] == "-e" || out[i-1] == "--env") && strings.Contains(out[i], "=") {
			out[i] = out[i][:strings.IndexByte(out[i], '=')] + "=…"
		}
	}
	return out
}

// Available reports why Docker cannot be used here, or nil.
func Available(ctx context.Context) error {
	d, err := NewDocker()
	if err != nil {
		return err
	}
	d.Timeout = 30 * time.Second
	if _, err := d.Run(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return fmt.Errorf("docker engine not reachable: %w", err)
	}
	return nil
}

// NewRunID returns a short random id naming one test run.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LabelArgs are the --label flags marking a resource of run.
func LabelArgs(run string) []string {
	return []string{"--label", LabelRun + "=" + run, "--label", LabelCreated + "=" + strconv.FormatInt(time.Now().Unix(), 10)}
}

// RemoveRun removes every container, network and image labelled with run,
// in that order. It tries everything and returns every failure.
func (d *Docker) RemoveRun(ctx context.Context, run string) error {
	return d.RemoveLabelled(ctx, LabelRun+"="+run)
}

// RemoveLabelled removes every container, network and image carrying the
// label (key=value), in that order.
func (d *Docker) RemoveLabelled(ctx context.Context, label string) error {
	return d.remove(ctx, label, func(string) bool { return true })
}

// RemoveStale removes resources of any run created more than age ago
// (leftovers of runs that crashed before their cleanup).
func (d *Docker) RemoveStale(ctx context.Context, age time.Duration) error {
	cut := time.Now().Add(-age).Unix()
	return d.remove(ctx, LabelRun, func(created string) bool {
		t, err := strconv.ParseInt(created, 10, 64)
		return err == nil && t < cut
	})
}

func (d *Docker) remove(ctx context.Context, filter string, pick func(created string) bool) error {
	format := `{{.ID}} {{.Label "` + LabelCreated + `"}}`
	var errs []error
	list := func(args ...string) []string {
		out, err := d.Run(ctx, args...)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		var ids []string
		for _, line := range strings.Split(out, "\n") {
			f := append(strings.Fields(line), "")
			if f[0] != "" && pick(f[1]) {
				ids = append(ids, f[0])
			}
		}
		return ids
	}
	if ids := list("ps", "-a", "--filter", "label="+filter, "--format", format); len(ids) > 0 {
		if _, err := d.Run(ctx, append([]string{"rm", "-f", "-v"}, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range list("network", "ls", "--filter", "label="+filter, "--format", format) {
		if _, err := d.Run(ctx, "network", "rm", id); err != nil && !strings.Contains(err.Error(), "No such network") {
			errs = append(errs, err)
		}
	}
	imgFormat := `{{.ID}} {{.Repository}}:{{.Tag}}`
	out, err := d.Run(ctx, "images", "--filter", "label="+filter, "--format", imgFormat)
	if err != nil {
		errs = append(errs, err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		created, err := d.Run(ctx, "image", "inspect", "--format", `{{index .Config.Labels "`+LabelCreated+`"}}`, f[0])
		if err != nil || !pick(created) {
			continue
		}
		ref := f[1]
		if strings.HasSuffix(ref, ":<none>") {
			ref = f[0]
		}
		if _, err := d.Run(ctx, "rmi", ref); err != nil && !strings.Contains(err.Error(), "No such image") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
