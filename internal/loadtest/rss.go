package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Memory is a process's resident memory, in bytes.
type Memory struct {
	// Peak is the high-water mark of the resident set (VmHWM).
	Peak uint64
	// Current is the resident set now (VmRSS).
	Current uint64
	// Anon and File split Current into anonymous memory (heap, stacks:
	// RssAnon) and mapped file pages (binary, an mmapped store: RssFile),
	// which the kernel can drop under pressure.
	Anon, File uint64
	// PeakAnon is the highest Anon a Sampler saw (zero from ReadMemory).
	PeakAnon uint64
}

// MiB returns b in mebibytes.
func MiB(b uint64) float64 { return float64(b) / (1 << 20) }

// ReadMemory reads VmHWM, VmRSS, RssAnon and RssFile of process pid from
// /proc/PID/status (Linux only).
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (Memory, error) {
	var m Memory
	var seenHWM, seenRSS bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "VmHWM":
			dst, seenHWM = &m.Peak, true
		case "VmRSS":
			dst, seenRSS = &m.Current, true
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return Memory{}, fmt.Errorf("parse %s: unexpected %q", key, rest)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parse %s: %w", key, err)
		}
		*dst = kb << 10
	}
	if !seenHWM || !seenRSS {
		return Memory{}, fmt.Errorf("no VmHWM/VmRSS in status (a kernel thread or zombie?)")
	}
	return m, nil
}

// Sampler polls a process's memory until stopped, so the peak is known
// even if the process dies before the end of the run.
type Sampler struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	peak    Memory
	samples int
	err     error
}

// Sample starts polling pid every interval (default 50ms).
func Sample(ctx context.Context, pid int, interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample(pid)
			select {
			case <-ctx.Done():
				s.sample(pid)
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *Sampler) sample(pid int) {
	m, err := ReadMemory(pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.samples++
	s.peak.Peak = max(s.peak.Peak, m.Peak, m.Current)
	s.peak.PeakAnon = max(s.peak.PeakAnon, m.Anon)
	s.peak.Current, s.peak.Anon, s.peak.File = m.Current, m.Anon, m.File
}

// Stop ends the polling and returns the highest peak (and peak anonymous
// memory) seen and the last current sizes. It errors only when no sample
// could be taken.
func (s *Sampler) Stop() (Memory, error) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.samples == 0 {
		return Memory{}, fmt.Errorf("no memory sample: %w", s.err)
	}
	return s.peak, nil
}
