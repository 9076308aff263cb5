package k8s

// renderResolution says how the target was found when no label of the
// alert named it, so that a reader (or a model) can judge the link.
func (s *Snapshot) renderResolution(add addFunc) {
	add("target/resolution", "How the target was found", prioHigh, s.Resolution, false)
}
