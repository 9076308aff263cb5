package k8s

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// This file explains why a PersistentVolumeClaim stays Pending, from the
// PV controller's and the external provisioner's events on the claim:
// ProvisioningFailed (quoting the provisioner's own error), a provisioner
// that never answers (ExternalProvisioning only), no StorageClass and no
// matching volume (FailedBinding), and WaitForFirstConsumer.

var (
	reProvisionErr = regexp.MustCompile(`(?s)failed to provision volume with StorageClass "([^"]*)":\s*(.*)$`)
	reGRPCDesc     = regexp.MustCompile(`desc = `)
	reExternalProv = regexp.MustCompile(`external provisioner "?'?([^"' ]+)`)
	reQuotaName    = regexp.MustCompile(`(?i)quota[ :'"]+([A-Za-z0-9_.\-/]+)['"]?\s+exceeded|exceeded quota:\s*([A-Za-z0-9_.\-]+)|quota exceeded for (?:quota metric )?'?([^',]+)`)
)

// provisionerError returns the provisioner's own error from a
// ProvisioningFailed message: the innermost gRPC description when the
// CSI driver wrapped it, else what follows the StorageClass.
func provisionerError(msg string) string {
	msg = strings.TrimSpace(msg)
	if m := reProvisionErr.FindStringSubmatch(msg); m != nil {
		msg = m[2]
	}
	if locs := reGRPCDesc.FindAllStringIndex(msg, -1); len(locs) > 0 {
		msg = msg[locs[len(locs)-1][1]:]
	}
	return strings.TrimSpace(msg)
}

func (d *diag) storageClass(name string) *storagev1.StorageClass {
	for i := range d.s.StorageClasses {
		if d.s.StorageClasses[i].Name == name {
			return &d.s.StorageClasses[i]
		}
	}
	return nil
}

func (d *diag) defaultStorageClass() string {
	for _, s := range d.s.StorageClasses {
		if s.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return s.Name
		}
	}
	return ""
}

// claimPending explains a Pending claim from its events and StorageClass.
// ok is false when nothing beyond "Pending" is known.
func (d *diag) claimPending(c *corev1.PersistentVolumeClaim) (why string, details, actions, proof []string, ok bool) {
	sc := ""
	if c.Spec.StorageClassName != nil {
		sc = *c.Spec.StorageClassName
	}
	class := d.storageClass(sc)
	scDesc := "StorageClass " + sc
	if class != nil {
		scDesc += " (provisioner " + class.Provisioner
		if len(class.Parameters) > 0 {
			var ps []string
			for _, k := range sortedKeys(class.Parameters) {
				ps = append(ps, k+"="+class.Parameters[k])
			}
			scDesc += ", parameters " + strings.Join(ps, ", ")
		}
		scDesc += ")"
	}
	size := c.Spec.Resources.Requests[corev1.ResourceStorage]
	var failed, external, waiting, binding *corev1.Event
	for _, e := range d.events[objKey{"PersistentVolumeClaim", c.Namespace, c.Name}] {
		switch e.Reason {
		case "ProvisioningFailed":
			failed = e
		case "ExternalProvisioning":
			external = e
		case "WaitForFirstConsumer":
			waiting = e
		case "FailedBinding":
			binding = e
		}
	}
	switch {
	case failed != nil:
		perr := strings.TrimSuffix(provisionerError(failed.Message), ".")
		proof = append(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(failed)))
		why = fmt.Sprintf("its PersistentVolumeClaim %s (%s, %s) cannot be provisioned — the provisioner fails with: %s", c.Name, size.String(), scDesc, clip(perr, 300))
		if m := reQuotaName.FindStringSubmatch(perr); m != nil {
			q := strings.TrimSpace(m[1] + m[2] + m[3])
			why = fmt.Sprintf("its PersistentVolumeClaim %s (%s, %s) cannot be provisioned because the storage backend's quota %s is exceeded — the provisioner fails with: %s", c.Name, size.String(), scDesc, q, clip(perr, 300))
			actions = append(actions, fmt.Sprintf("Raise quota %s with the storage/cloud provider, free capacity under it (delete unused volumes), or request a smaller volume / another StorageClass for claim %s.", q, c.Name))
		} else {
			actions = append(actions, fmt.Sprintf("Fix what the provisioner reports (StorageClass %s parameters, credentials, capacity), then the claim is retried automatically; a claim's storageClassName is immutable, so a wrong class means recreating claim %s.", sc, c.Name))
		}
		ok = true
	case class != nil && len(class.AllowedTopologies) > 0 && d.topologyUnserved(class) != "":
		nodes := d.topologyUnserved(class)
		why = fmt.Sprintf("its PersistentVolumeClaim %s (%s, %s) can only get a volume in %s (the StorageClass's allowedTopologies), and no schedulable node is there: %s — the scheduler finds no node where the volume could be provisioned (didn't find available persistent volumes to bind)",
			c.Name, size.String(), scDesc, topologyTerms(class.AllowedTopologies), nodes)
		proof = append(proof, fmt.Sprintf("storageclass %s allowedTopologies: %s; volumeBindingMode %s", class.Name, topologyTerms(class.AllowedTopologies), bindingMode(class)))
		actions = append(actions,
			fmt.Sprintf("Add the schedulable zones to StorageClass %s's allowedTopologies (a StorageClass is immutable: recreate it with the same name), or add nodes in %s; then delete Pending claim %s/%s so it is provisioned again.", class.Name, topologyTerms(class.AllowedTopologies), c.Namespace, c.Name))
		ok = true
	case binding != nil && (sc == "" || class == nil && d.defaultStorageClass() == ""):
		proof = append(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(binding)))
		why = fmt.Sprintf("its PersistentVolumeClaim %s names no StorageClass and no PersistentVolume matches it (%s) — nothing can provision or bind it", c.Name, strings.TrimSpace(binding.Message))
		actions = append(actions, fmt.Sprintf("Set storageClassName on claim %s to an existing class (kubectl get storageclass), mark one class default, or create a matching PersistentVolume.", c.Name))
		ok = true
	case external != nil && waiting == nil:
		prov := ""
		if m := reExternalProv.FindStringSubmatch(external.Message); m != nil {
			prov = m[1]
		}
		proof = append(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(external)))
		why = fmt.Sprintf("its PersistentVolumeClaim %s (%s) waits for the external provisioner %s, which has not created the volume (no provisioning attempt or error is recorded)", c.Name, scDesc, prov)
		actions = append(actions, fmt.Sprintf("Check the CSI controller of %s is running and registered: kubectl get pods -A | grep -i csi; kubectl get csidrivers", prov))
		ok = true
	case waiting != nil:
		proof = append(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(waiting)))
		details = append(details, fmt.Sprintf("Claim %s uses %s with volumeBindingMode WaitForFirstConsumer: it is provisioned only once its pod is scheduled.", c.Name, scDesc))
	case binding != nil:
		proof = append(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(binding)))
		why = fmt.Sprintf("its PersistentVolumeClaim %s cannot bind: %s", c.Name, strings.TrimSpace(binding.Message))
		ok = true
	}
	return
}

// topologyUnserved returns, when no schedulable node of the snapshot
// matches any of the StorageClass's allowedTopologies terms, where the
// schedulable nodes are instead ("nodes carry KEY=a (2), b (1)"); "" when
// a node matches or no node is known.
func (d *diag) topologyUnserved(class *storagev1.StorageClass) string {
	counts := map[string]int{}
	var order []string
	key := ""
	if t := class.AllowedTopologies[0]; len(t.MatchLabelExpressions) > 0 {
		key = t.MatchLabelExpressions[0].Key
	}
	schedulable := 0
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if rc := nodeCondition(n, corev1.NodeReady); n.Spec.Unschedulable || rc != nil && rc.Status != corev1.ConditionTrue {
			continue
		}
		schedulable++
		for _, term := range class.AllowedTopologies {
			match := true
			for _, e := range term.MatchLabelExpressions {
				v, has := n.Labels[e.Key]
				match = match && has && slices.Contains(e.Values, v)
			}
			if match {
				return ""
			}
		}
		v := n.Labels[key]
		if v == "" {
			v = "(no " + key + " label)"
		}
		if counts[v] == 0 {
			order = append(order, v)
		}
		counts[v]++
	}
	if schedulable == 0 || key == "" {
		return ""
	}
	var parts []string
	for _, v := range order {
		parts = append(parts, fmt.Sprintf("%s (%d node%s)", v, counts[v], plural(counts[v], "", "s")))
	}
	return fmt.Sprintf("the schedulable nodes carry %s %s", key, strings.Join(parts, ", "))
}

// topologyTerms renders allowedTopologies ("key in [a b] or key in [c]").
func topologyTerms(ts []corev1.TopologySelectorTerm) string {
	var terms []string
	for _, t := range ts {
		var exprs []string
		for _, e := range t.MatchLabelExpressions {
			exprs = append(exprs, fmt.Sprintf("%s=%s", e.Key, strings.Join(e.Values, "|")))
		}
		terms = append(terms, strings.Join(exprs, ","))
	}
	return strings.Join(terms, " or ")
}

func bindingMode(class *storagev1.StorageClass) string {
	if class.VolumeBindingMode == nil {
		return string(storagev1.VolumeBindingImmediate)
	}
	return string(*class.VolumeBindingMode)
}
