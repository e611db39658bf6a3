package refdata

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ybfed/ybfed/crypto/link"
)

// maxForward bounds a forwarded entry.
const maxForward = 64 << 20

// Forwarded publish, on a connection that started with forwardByte:
//
//	request:  uvarint length, encoded batch
//	response: status byte (0 result, 1 error), then for a result: index,
//	          flags (1 applied, 2 staged, 4 duplicate), duplicate-of index,
//	          rejection reason; for an error: its text.

// forward sends data to the leader and returns the leader's result.
func (r *Replicator) forward(ctx context.Context, data []byte) (Result, error) {
	addr, id := r.raft.LeaderWithID()
	if addr == "" {
		return Result{}, ErrNoLeader
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := r.stream.dialForward(dctx, string(addr), string(id))
	if err != nil {
		return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	deadline := time.Now().Add(r.cfg.ApplyTimeout + 30*time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	w := bufio.NewWriter(c)
	w.Write(binary.AppendUvarint(nil, uint64(len(data))))
	w.Write(data)
	if err := w.Flush(); err != nil {
		return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	br := bufio.NewReader(c)
	status, err := br.ReadByte()
	if err != nil {
		return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	if status == 1 {
		msg, err := readBytes(br)
		if err != nil {
			return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
		}
		return Result{}, fmt.Errorf("leader %s: %s", id, msg)
	}
	var res Result
	var flags, dup uint64
	if res.Index, err = binary.ReadUvarint(br); err == nil {
		if flags, err = binary.ReadUvarint(br); err == nil {
			dup, err = binary.ReadUvarint(br)
		}
	}
	if err != nil {
		return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	reason, err := readBytes(br)
	if err != nil {
		return Result{}, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	res.Applied, res.Staged, res.Duplicate = flags&1 != 0, flags&2 != 0, flags&4 != 0
	res.DuplicateOf, res.Rejected = dup, string(reason)
	return res, nil
}

// serveForward handles a forwarded publish on the leader.
func (r *Replicator) serveForward(c net.Conn, peer link.Peer) {
	defer c.Close()
	stop := context.AfterFunc(r.ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReader(c)
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxForward {
		return
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(br, data); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	var out []byte
	res, err := r.acceptForward(data)
	if err != nil {
		out = appendBytes([]byte{1}, []byte(err.Error()))
	} else {
		var flags uint64
		if res.Applied {
			flags |= 1
		}
		if res.Staged {
			flags |= 2
		}
		if res.Duplicate {
			flags |= 4
		}
		out = binary.AppendUvarint([]byte{0}, res.Index)
		out = binary.AppendUvarint(out, flags)
		out = binary.AppendUvarint(out, res.DuplicateOf)
		out = appendBytes(out, []byte(res.Rejected))
	}
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(out); err != nil {
		r.log.Debug("forward reply", "peer", peer.Admdvs, "err", err)
	}
}

func (r *Replicator) acceptForward(data []byte) (Result, error) {
	if _, err := DecodeBatch(data); err != nil {
		return Result{}, err
	}
	if r.raft.State() != raft.Leader {
		return Result{}, errors.New("not the leader")
	}
	return r.applyLocal(r.ctx, data)
}
