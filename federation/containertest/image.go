package containertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// NodeImageRepo is the repository of the ybnode test images.
const NodeImageRepo = "ybfed-node"

// PostgresImageRepo is the repository of the cached PostgreSQL image.
const PostgresImageRepo = "ybfed-pg"

// ModuleRoot finds the directory holding go.mod, walking up from dir.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", fmt.Errorf("module root: no go.mod above %s", dir)
}

// goTool finds the go command: on PATH, else in GOROOT.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// BuildBinary builds the static ybnode binary (CGO_ENABLED=0) of the
// module at root into out.
func BuildBinary(ctx context.Context, root, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-o", out, "./cmd/ybnode")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build ybnode: %w\n%s", err, b)
	}
	return nil
}

// fileHash is the hex SHA-256 of a file.
func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BuildNodeImage wraps the static binary at bin in a FROM scratch image
// tagged ybfed-node:test-<binary hash>-<run>, labelled with run, and returns
// the tag. The image's entrypoint is /ybnode.
func (d *Docker) BuildNodeImage(ctx context.Context, bin, run string) (string, error) {
	sum, err := fileHash(bin)
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	dir, err := os.MkdirTemp("", "ybfed-image-")
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	defer os.RemoveAll(dir)
	src, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ybnode"), src, 0o755); err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	const dockerfile = "FROM scratch\nCOPY ybnode /ybnode\nENTRYPOINT [\"/ybnode\"]\nCMD [\"run\", \"--config\", \"/etc/ybnode/node.yaml\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	tag := fmt.Sprintf("%s:test-%s-%s", NodeImageRepo, sum[:12], run)
	args := append([]string{"build", "-q", "-t", tag}, LabelArgs(run)...)
	if _, err := d.Run(ctx, append(args, dir)...); err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	return tag, nil
}

// ImageExists reports whether the engine holds the image ref.
func (d *Docker) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := d.Run(ctx, "image", "inspect", "--format", "{{.ID}}", ref)
	if err == nil {
		return true, nil
	}
	var de *Error
	if errors.As(err, &de) && strings.Contains(strings.ToLower(de.Stderr), "no such image") {
		return false, nil
	}
	return false, err
}

// PostgresImageScript is the script, relative to the module root, that
// builds the PostgreSQL image from a debootstrap root.
const PostgresImageScript = "scripts/container-image"

// PostgresImageTag is the tag of the PostgreSQL image that the script at
// root builds: its recipe's hash, so a changed recipe builds a new image.
func PostgresImageTag(root string) (string, error) {
	sum, err := fileHash(filepath.Join(root, PostgresImageScript))
	if err != nil {
		return "", fmt.Errorf("postgres image tag: %w", err)
	}
	return PostgresImageRepo + ":bookworm-" + sum[:12], nil
}

// BuildPostgresImage runs the image script (debootstrap, then docker
// import); it takes minutes the first time.
func BuildPostgresImage(ctx context.Context, root, tag string, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, PostgresImageScript), "pg", tag)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s with %s: %w", tag, PostgresImageScript, err)
	}
	return nil
}
