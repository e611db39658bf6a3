package installer

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"text/template"
)

// Systemctl is the part of systemctl the installer uses.
type Systemctl interface {
	// DaemonReload makes systemd re-read unit files.
	DaemonReload(ctx context.Context) error
	// IsEnabled reports whether unit starts at boot.
	IsEnabled(ctx context.Context, unit string) (bool, error)
	// Enable makes unit start at boot.
	Enable(ctx context.Context, unit string) error
	// Disable stops unit from starting at boot.
	Disable(ctx context.Context, unit string) error
	// IsActive reports whether unit is running.
	IsActive(ctx context.Context, unit string) (bool, error)
	// Start starts unit.
	Start(ctx context.Context, unit string) error
	// Restart restarts unit.
	Restart(ctx context.Context, unit string) error
	// Stop stops unit.
	Stop(ctx context.Context, unit string) error
}

// ExecSystemctl runs the real systemctl. With Root other than "" or "/"
// it works on an offline root file system (systemctl --root): enabling
// and disabling work, and the unit is never active.
type ExecSystemctl struct {
	Root string
}

var _ Systemctl = ExecSystemctl{}

func (s ExecSystemctl) offline() bool { return s.Root != "" && s.Root != "/" }

func (s ExecSystemctl) run(ctx context.Context, args ...string) (string, error) {
	if s.offline() {
		args = append([]string{"--root=" + s.Root}, args...)
	}
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (s ExecSystemctl) act(ctx context.Context, args ...string) error {
	if out, err := s.run(ctx, args...); err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// DaemonReload runs systemctl daemon-reload (nothing to do offline).
func (s ExecSystemctl) DaemonReload(ctx context.Context) error {
	if s.offline() {
		return nil
	}
	return s.act(ctx, "daemon-reload")
}

// IsEnabled runs systemctl is-enabled.
func (s ExecSystemctl) IsEnabled(ctx context.Context, unit string) (bool, error) {
	// is-enabled exits non-zero for disabled, missing and masked units.
	out, err := s.run(ctx, "is-enabled", unit)
	return err == nil && (out == "enabled" || out == "enabled-runtime"), nil
}

// Enable runs systemctl enable.
func (s ExecSystemctl) Enable(ctx context.Context, unit string) error {
	return s.act(ctx, "enable", unit)
}

// Disable runs systemctl disable.
func (s ExecSystemctl) Disable(ctx context.Context, unit string) error {
	return s.act(ctx, "disable", unit)
}

// IsActive runs systemctl is-active (always false offline).
func (s ExecSystemctl) IsActive(ctx context.Context, unit string) (bool, error) {
	if s.offline() {
		return false, nil
	}
	out, err := s.run(ctx, "is-active", unit)
	return err == nil && out == "active", nil
}

// Start runs systemctl start.
func (s ExecSystemctl) Start(ctx context.Context, unit string) error {
	if s.offline() {
		return fmt.Errorf("cannot start %s in the offline root %s", unit, s.Root)
	}
	return s.act(ctx, "start", unit)
}

// Restart runs systemctl restart.
func (s ExecSystemctl) Restart(ctx context.Context, unit string) error {
	if s.offline() {
		return fmt.Errorf("cannot restart %s in the offline root %s", unit, s.Root)
	}
	return s.act(ctx, "restart", unit)
}

// Stop runs systemctl stop (nothing to do offline).
func (s ExecSystemctl) Stop(ctx context.Context, unit string) error {
	if s.offline() {
		return nil
	}
	return s.act(ctx, "stop", unit)
}

// UnitParams fill the systemd unit template.
type UnitParams struct {
	Binary  string
	Config  string
	User    string
	Group   string
	DataDir string
	// Description is the unit's one-line description.
	Description string
	// NoFile is LimitNOFILE.
	NoFile int
}

var unitTmpl = template.Must(template.New("unit").Parse(`# Written by ybnode install; re-run ybnode install to change it.
[Unit]
Description={{.Description}}
Documentation=https://github.com/ybfed/ybfed/blob/main/docs/OPERATIONS.md
Wants=network-online.target
After=network-online.target time-sync.target

[Service]
Type=simple
User={{.User}}
Group={{.Group}}
ExecStart={{.Binary}} run --config {{.Config}}
Restart=on-failure
RestartSec=5s
TimeoutStopSec=60s
KillSignal=SIGTERM
LimitNOFILE={{.NoFile}}
UMask=0027

# Hardening: the node needs its data directory and the network, nothing else.
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={{.DataDir}}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK

[Install]
WantedBy=multi-user.target
`))

// RenderUnit returns the systemd unit text for p.
func RenderUnit(p UnitParams) ([]byte, error) {
	if p.NoFile == 0 {
		p.NoFile = 65536
	}
	if p.Group == "" {
		p.Group = p.User
	}
	var b bytes.Buffer
	if err := unitTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render unit: %w", err)
	}
	return b.Bytes(), nil
}
