package k8s

import (
	"context"
	"encoding/json"
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

// The kubelet answers 400 for a container instance that has no log; the
// API server passes its words on. Cluster reads those as an empty log (the
// instance never ran, so nothing failed) and every other refusal as an
// error.
func TestClusterLogsOfAMissingInstance(t *testing.T) {
	for _, tt := range []struct {
		name     string
		previous bool
		code     int
		message  string
		wantErr  bool
	}{
		{name: "no previous instance", previous: true, code: http.StatusBadRequest,
			message: `previous terminated container "app" in pod "web-0" not found`},
		{name: "waiting to start", code: http.StatusBadRequest,
			message: `container "app" in pod "web-0" is waiting to start: ContainerCreating`},
		{name: "image pull", code: http.StatusBadRequest,
			message: `container "app" in pod "web-0" is waiting to start: trying and failing to pull image`},
		{name: "container not in the pod", code: http.StatusBadRequest, wantErr: true,
			message: `container app is not valid for pod web-0`},
		{name: "forbidden", previous: true, code: http.StatusForbidden, wantErr: true,
			message: `pods "web-0" is forbidden: User "system:serviceaccount:k8flex:k8flex" cannot get resource "pods/log"`},
		{name: "kubelet unreachable", previous: true, code: http.StatusInternalServerError, wantErr: true,
			message: `Get "https://10.0.1.12:10250/containerLogs/shop/web-0/app?previous=true": dial tcp: connect: connection refused`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path != "/api/v1/namespaces/shop/pods/web-0/log" {
					t.Errorf("request to %s", req.URL.Path)
				}
				if got := req.URL.Query().Get("previous") == "true"; got != tt.previous {
					t.Errorf("previous=%v, want %v", got, tt.previous)
				}
				body, _ := json.Marshal(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
					Status: metav1.StatusFailure, Code: int32(tt.code), Message: tt.message,
					Reason: map[int]metav1.StatusReason{http.StatusBadRequest: metav1.StatusReasonBadRequest,
						http.StatusForbidden: metav1.StatusReasonForbidden, http.StatusInternalServerError: metav1.StatusReasonInternalError}[tt.code]})
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.code)
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			c, err := NewCluster(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Logs(context.Background(), "shop", "web-0", "app", tt.previous, 100)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.message) {
					t.Errorf("Logs = %q, %v; want an error naming %q", got, err, tt.message)
				}
				return
			}
			if err != nil || got != "" {
				t.Errorf("Logs = %q, %v; want an empty log", got, err)
			}
		})
	}
}
