package k8s

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Cluster asks for protobuf on built-in groups and JSON on metrics.k8s.io
// (metrics-server serves no protobuf), sends list options as query
// parameters, and decodes either answer; API errors keep their status.
func TestClusterRequests(t *testing.T) {
	type seen struct{ path, query, accept string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got = append(got, seen{req.URL.Path, req.URL.RawQuery, req.Header.Get("Accept")})
		w.Header().Set("Content-Type", "application/json")
		switch req.URL.Path {
		case "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods":
			_, _ = w.Write([]byte(`{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","items":[
				{"metadata":{"name":"web-0","namespace":"shop"},"containers":[{"name":"app","usage":{"cpu":"250m","memory":"64Mi"}}]}]}`))
		case "/api/v1/namespaces/shop/pods":
			_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"web-0","namespace":"shop"},"spec":{"nodeName":"node-1"}}]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"nodes \"gone\" not found"}`))
		}
	}))
	defer srv.Close()
	c, err := NewCluster(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	pm, err := readList[metricsv1beta1.PodMetricsList](ctx, c, resPodMetrics, "shop", metav1.ListOptions{})
	if err != nil || len(pm.Items) != 1 || pm.Items[0].Containers[0].Usage.Cpu().MilliValue() != 250 {
		t.Fatalf("pod metrics = %+v, %v", pm, err)
	}
	pods, err := readList[corev1.PodList](ctx, c, resPods, "shop", metav1.ListOptions{LabelSelector: "app=web", FieldSelector: "spec.nodeName=node-1"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != "node-1" {
		t.Fatalf("pods = %+v, %v", pods, err)
	}
	if _, err := readOne[corev1.Node](ctx, c, resNodes, "", "gone"); !apierrors.IsNotFound(err) {
		t.Fatalf("get of a missing node: %v, want NotFound", err)
	}

	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	if strings.Contains(got[0].accept, "protobuf") {
		t.Errorf("metrics.k8s.io asked for %q, want JSON only", got[0].accept)
	}
	if !strings.HasPrefix(got[1].accept, "application/vnd.kubernetes.protobuf") {
		t.Errorf("core/v1 asked for %q, want protobuf first", got[1].accept)
	}
	if !strings.Contains(got[1].query, "labelSelector=app%3Dweb") || !strings.Contains(got[1].query, "fieldSelector=spec.nodeName%3Dnode-1") {
		t.Errorf("list query = %q, want both selectors", got[1].query)
	}
	if got[2].path != "/api/v1/nodes/gone" {
		t.Errorf("node get went to %s", got[2].path)
	}
}
