package k8s

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// explainExtendedResource completes an "Insufficient <domain>/<name>"
// explanation. An extended resource exists on a node only while a device
// plugin on that node advertises it (node status.allocatable): when no
// node of the snapshot advertises it, the cause is the device plugin, and
// the DaemonSets that mount the kubelet's device-plugin directory say why
// — running on no node (nodeSelector/affinity matching no node, taints),
// or not ready where they run.
func (d *diag) explainExtendedResource(p *corev1.Pod, res corev1.ResourceName, x *schedExplain) {
	if !isExtendedResource(res) || len(d.s.Nodes) == 0 {
		return
	}
	advertising := 0
	for i := range d.s.Nodes {
		if q, ok := d.s.Nodes[i].Status.Allocatable[res]; ok && !q.IsZero() {
			advertising++
		}
	}
	if advertising > 0 {
		return
	}
	req := podRequests(p)[res]
	x.why = fmt.Sprintf("the pod requests the extended resource %s", res)
	if !req.IsZero() {
		x.why += "=" + req.String()
	}
	x.why += fmt.Sprintf(", which no node advertises (none of the %d nodes known has %s in status.allocatable)", len(d.s.Nodes), res)
	x.proof = append(x.proof, fmt.Sprintf("no node's status.allocatable has %s (%d nodes checked)", res, len(d.s.Nodes)))
	var plugins []string
	for i := range d.s.DaemonSets {
		ds := &d.s.DaemonSets[i]
		if !mountsDevicePlugins(&ds.Spec.Template.Spec) {
			continue
		}
		s := fmt.Sprintf("device plugin DaemonSet %s/%s runs on %d node(s) (desiredNumberScheduled %d, numberReady %d)",
			ds.Namespace, ds.Name, ds.Status.CurrentNumberScheduled, ds.Status.DesiredNumberScheduled, ds.Status.NumberReady)
		if ds.Status.DesiredNumberScheduled == 0 {
			if sel := ds.Spec.Template.Spec.NodeSelector; len(sel) > 0 && d.nodesMatching(sel) == 0 {
				s += fmt.Sprintf(": its nodeSelector %s matches no node", fmtSelector(sel))
				if near := d.nodesWithLabelValue(sel); near != "" {
					s += " (" + near + ")"
				}
			}
		} else if ds.Status.NumberReady < ds.Status.DesiredNumberScheduled {
			s += ": not ready on every node it should run on"
		}
		plugins = append(plugins, s)
		x.objects = append(x.objects, "daemonset/"+ds.Namespace+"/"+ds.Name)
		x.proof = append(x.proof, s)
	}
	if len(plugins) > 0 {
		x.why += "; " + strings.Join(plugins, "; ")
	} else {
		x.why += "; no device plugin DaemonSet (a pod mounting " + devicePluginDir + ") was found to advertise it"
	}
	x.details = append(x.details, "Extended resources are counted by the kubelet only as a device plugin on the node registers them (through "+devicePluginDir+"); without a running plugin the node's allocatable lacks the resource and every pod requesting it stays Pending.")
	x.actions = append([]string{
		fmt.Sprintf("kubectl get nodes -o custom-columns=NAME:.metadata.name,RES:.status.allocatable.%s   # which nodes advertise it", strings.NewReplacer(".", `\.`, "/", `\/`).Replace(string(res))),
		"kubectl get ds -A -o wide   # the device plugin DaemonSet: DESIRED/READY and NODE SELECTOR vs the labels of the accelerator nodes",
		"Fix the device plugin's nodeSelector/tolerations (or the nodes' labels) so it runs on the nodes that have the device, then check the nodes' allocatable.",
	}, x.actions...)
}

// nodesMatching counts the snapshot's nodes whose labels match sel.
func (d *diag) nodesMatching(sel map[string]string) int {
	s := labels.SelectorFromSet(sel)
	n := 0
	for i := range d.s.Nodes {
		if s.Matches(labels.Set(d.s.Nodes[i].Labels)) {
			n++
		}
	}
	return n
}

// nodesWithLabelValue describes what the nodes carry for the selector's
// keys: "no node has label k", or the values nodes have.
func (d *diag) nodesWithLabelValue(sel map[string]string) string {
	var parts []string
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := map[string]bool{}
		for i := range d.s.Nodes {
			if v, ok := d.s.Nodes[i].Labels[k]; ok {
				vals[v] = true
			}
		}
		if len(vals) == 0 {
			parts = append(parts, "no node has label "+k)
			continue
		}
		var vs []string
		for v := range vals {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		parts = append(parts, fmt.Sprintf("nodes have %s=%s", k, strings.Join(vs, ",")))
	}
	return strings.Join(parts, "; ")
}

func fmtSelector(sel map[string]string) string {
	var kv []string
	for k, v := range sel {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
