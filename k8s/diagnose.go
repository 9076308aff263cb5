package k8s

import "github.com/k8flex/k8flex/investigate"

// Diagnose returns the deterministic findings of the snapshot, most likely
// root cause first. PLACEHOLDER: the diagnosis rules are being written.
func (s *Snapshot) Diagnose() []investigate.Finding { return nil }
