package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A StorageClass whose allowedTopologies name only zones where no
// schedulable node runs leaves the claim Pending and its pod unscheduled.
func TestDiagnoseStorageClassTopology(t *testing.T) {
	const noPV = "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	zoned := func(name, key, zone string) corev1.Node {
		n := nodeWith(name, healthyConds()...)
		n.Labels = map[string]string{key: zone}
		return n
	}
	snap := func(owner podOpt, key string, allowed []string, nodes ...corev1.Node) *Snapshot {
		p := newPod("search", "idx-0", owner, unschedulable(noPV), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-idx-0"}}}}
		})
		sc := "zonal-ssd"
		c := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "search", Name: "data-idx-0"},
			Spec:   corev1.PersistentVolumeClaimSpec{StorageClassName: &sc, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("50Gi")}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
		wfc := storagev1.VolumeBindingWaitForFirstConsumer
		class := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: sc}, Provisioner: "disk.csi.example.com", VolumeBindingMode: &wfc,
			AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: key, Values: allowed}}}}}
		return &Snapshot{Pods: []corev1.Pod{*p}, PVCs: []corev1.PersistentVolumeClaim{c}, StorageClasses: []storagev1.StorageClass{class}, Nodes: nodes}
	}
	runRuleCases(t, []string{"failed-scheduling"}, []ruleCase{
		{name: "StatefulSet claim restricted to a zone without nodes", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return snap(controlledBy("StatefulSet", "idx"), "topology.kubernetes.io/zone", []string{"west-c"},
					zoned("n1", "topology.kubernetes.io/zone", "west-a"), zoned("n2", "topology.kubernetes.io/zone", "west-b"), zoned("n3", "topology.kubernetes.io/zone", "west-b"))
			},
			summary: []string{"data-idx-0", "topology.kubernetes.io/zone=west-c", "allowedTopologies", "west-a (1 node), west-b (2 nodes)"},
			proof:   []string{"storageclass zonal-ssd allowedTopologies", "WaitForFirstConsumer"}},
		{name: "Deployment claim restricted to two zones, nodes elsewhere (CSI topology key)", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return snap(ownedByRS("idx-5d8f9c7b6"), "topology.disk.csi.example.com/zone", []string{"z3", "z4"},
					zoned("n1", "topology.disk.csi.example.com/zone", "z1"), zoned("n2", "topology.disk.csi.example.com/zone", "z2"))
			},
			summary: []string{"topology.disk.csi.example.com/zone=z3|z4", "z1 (1 node), z2 (1 node)"}},
	})
	// Must not fire: a schedulable node is in an allowed zone; a cordoned
	// one in the zone does not count.
	ok := snap(controlledBy("StatefulSet", "idx"), "topology.kubernetes.io/zone", []string{"west-c"},
		zoned("n1", "topology.kubernetes.io/zone", "west-a"), zoned("n3", "topology.kubernetes.io/zone", "west-c"))
	for _, f := range ok.Diagnose() {
		if strings.Contains(f.Summary, "allowedTopologies") {
			t.Errorf("fired although node n3 is in the allowed zone: %s", f.Summary)
		}
	}
	cordoned := snap(controlledBy("StatefulSet", "idx"), "topology.kubernetes.io/zone", []string{"west-c"},
		zoned("n1", "topology.kubernetes.io/zone", "west-a"), zoned("n3", "topology.kubernetes.io/zone", "west-c"))
	cordoned.Nodes[1].Spec.Unschedulable = true
	found := false
	for _, f := range cordoned.Diagnose() {
		found = found || strings.Contains(f.Summary, "allowedTopologies")
	}
	if !found {
		t.Error("a cordoned node in the allowed zone is counted as schedulable")
	}
}
