package k8s

import "github.com/k8flex/k8flex/investigate"

// Evidence renders the snapshot as sections. PLACEHOLDER: being written.
func (s *Snapshot) Evidence() investigate.Evidence {
	return investigate.Evidence{Target: s.Target, Gaps: s.Gaps, APIRequests: s.APIRequests, TargetGone: s.TargetGone}
}

var _ investigate.Snapshot = (*Snapshot)(nil)
