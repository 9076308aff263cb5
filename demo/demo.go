// Package demo holds K8flex's own incident scenarios, embedded in the
// binary so `k8flex demo` runs end to end with no cluster, Slack or model.
//
// Each scenario is a directory in the format of the shared scenarios
// README: alert.json (an Alertmanager webhook payload, version 4),
// cluster.yaml (the Kubernetes objects, status and events included),
// logs/<namespace>/<pod>/<container>[.previous].log and expect.yaml (what a
// correct investigation concludes). They are original incidents, separate
// from the external yardstick scenarios the eval command reads.
//
// Run is `k8flex demo`: the scenarios investigated end to end with the
// engine server builds, recorded in a temporary embedded knowledge base,
// with the recall pair showing the learning loop.
package demo

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed scenarios
var scenarios embed.FS

// The pair of scenarios that show knowledge-base recall: the first
// incident, once confirmed, is recalled when the second (same alert and
// category, another workload) is investigated.
const (
	recallFirst  = "recall-1-gpu-taint-pending-embedder"
	recallSecond = "recall-2-gpu-taint-pending-tagger"
)

// FS returns the scenarios as a read-only file system whose root holds one
// directory per scenario (FS() opened at "<name>/alert.json", ...).
func FS() fs.FS {
	sub, err := fs.Sub(scenarios, "scenarios")
	if err != nil {
		// fs.Sub fails only for an invalid path; "scenarios" is valid.
		return scenarios
	}
	return sub
}

// Names returns the scenario names in the order the demo runs them:
// sorted by name, with the recall pair last and in incident order.
func Names() []string {
	entries, err := fs.ReadDir(FS(), ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != recallFirst && e.Name() != recallSecond {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return append(names, recallFirst, recallSecond)
}

// RecallPair returns the names of the two similar incidents used to show
// recall from the knowledge base: investigate and confirm first, then
// investigate second.
func RecallPair() (first, second string) { return recallFirst, recallSecond }
