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
//	request:  uvarint count, then per entry: uvarint length, encoded batch
//	response: uvarint count of results, each: index, flags (1 applied,
//	          2 staged, 4 duplicate), duplicate-of index, rejection reason;
//	          then a status byte (0 done, 1 stopped by an error) and for 1
//	          the error text.

// maxForwardCount bounds the entries of one forwarded publish.
const maxForwardCount = MaxParts

// forward sends entries to the leader and returns the leader's results.
func (r *Replicator) forward(ctx context.Context, datas [][]byte) ([]Result, error) {
	addr, id := r.raft.LeaderWithID()
	if addr == "" {
		return nil, ErrNoLeader
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := r.stream.dialForward(dctx, string(addr), string(id))
	if err != nil {
		return nil, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	deadline := time.Now().Add(r.cfg.ApplyTimeout + 30*time.Second + time.Duration(len(datas))*time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	w := bufio.NewWriterSize(c, 1<<16)
	w.Write(binary.AppendUvarint(nil, uint64(len(datas))))
	for _, d := range datas {
		w.Write(binary.AppendUvarint(nil, uint64(len(d))))
		w.Write(d)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	br := bufio.NewReader(c)
	n, err := binary.ReadUvarint(br)
	if err != nil || n > uint64(len(datas)) {
		return nil, fmt.Errorf("forward to leader %s: bad reply: %v", id, err)
	}
	out := make([]Result, 0, n)
	for i := uint64(0); i < n; i++ {
		var res Result
		var flags, dup uint64
		if res.Index, err = binary.ReadUvarint(br); err == nil {
			if flags, err = binary.ReadUvarint(br); err == nil {
				dup, err = binary.ReadUvarint(br)
			}
		}
		if err != nil {
			return out, fmt.Errorf("forward to leader %s: %w", id, err)
		}
		reason, err := readBytes(br)
		if err != nil {
			return out, fmt.Errorf("forward to leader %s: %w", id, err)
		}
		res.Applied, res.Staged, res.Duplicate = flags&1 != 0, flags&2 != 0, flags&4 != 0
		res.DuplicateOf, res.Rejected = dup, string(reason)
		out = append(out, res)
	}
	status, err := br.ReadByte()
	if err != nil {
		return out, fmt.Errorf("forward to leader %s: %w", id, err)
	}
	if status == 1 {
		msg, err := readBytes(br)
		if err != nil {
			return out, fmt.Errorf("forward to leader %s: %w", id, err)
		}
		return out, fmt.Errorf("leader %s: %s", id, msg)
	}
	return out, nil
}

// serveForward handles a forwarded publish on the leader.
func (r *Replicator) serveForward(c net.Conn, peer link.Peer) {
	defer c.Close()
	stop := context.AfterFunc(r.ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReaderSize(c, 1<<16)
	count, err := binary.ReadUvarint(br)
	if err != nil || count == 0 || count > maxForwardCount {
		return
	}
	datas := make([][]byte, count)
	total := 0
	for i := range datas {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > maxForward || total+int(n) > 4*maxForward {
			return
		}
		total += int(n)
		datas[i] = make([]byte, n)
		if _, err := io.ReadFull(br, datas[i]); err != nil {
			return
		}
	}
	_ = c.SetDeadline(time.Time{})
	results, err := r.acceptForward(datas)
	out := binary.AppendUvarint(nil, uint64(len(results)))
	for _, res := range results {
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
		out = binary.AppendUvarint(out, res.Index)
		out = binary.AppendUvarint(out, flags)
		out = binary.AppendUvarint(out, res.DuplicateOf)
		out = appendBytes(out, []byte(res.Rejected))
	}
	if err != nil {
		out = appendBytes(append(out, 1), []byte(err.Error()))
	} else {
		out = append(out, 0)
	}
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(out); err != nil {
		r.log.Debug("forward reply", "peer", peer.Admdvs, "err", err)
	}
}

func (r *Replicator) acceptForward(datas [][]byte) ([]Result, error) {
	for _, d := range datas {
		if _, err := DecodeBatch(d); err != nil {
			return nil, err
		}
	}
	if r.raft.State() != raft.Leader {
		return nil, errors.New("not the leader")
	}
	return r.applyMany(r.ctx, datas)
}
