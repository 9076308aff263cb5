// Package k8s is K8flex's Kubernetes adapter: client-go collectors that
// gather the evidence each alert category needs (in parallel, each with a
// timeout and a size budget), the rule-based diagnosis that turns that
// evidence into findings, and the rendering of evidence sections. It
// satisfies investigate.Gatherer.
package k8s
