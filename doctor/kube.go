package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
)

// Cluster is what the cluster checks ask of the API server.
type Cluster interface {
	// ServerVersion returns the API server's version (GET /version).
	ServerVersion(ctx context.Context) (string, error)
	// Allowed asks the authorizer whether the caller may do attr
	// (a SelfSubjectAccessReview).
	Allowed(ctx context.Context, attr authorizationv1.ResourceAttributes) (bool, error)
}

// KubeClient is a Cluster over client-go's transport (the kubeconfig's or
// the pod's credentials), without a generated clientset.
type KubeClient struct {
	hc   *http.Client
	host string
}

var _ Cluster = (*KubeClient)(nil)

// NewKubeClient returns a KubeClient for cfg.
func NewKubeClient(cfg *rest.Config) (*KubeClient, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	host := strings.TrimSuffix(cfg.Host, "/")
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	return &KubeClient{hc: hc, host: host + strings.TrimSuffix(cfg.APIPath, "/")}, nil
}

// ServerVersion implements Cluster.
func (k *KubeClient) ServerVersion(ctx context.Context) (string, error) {
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := k.do(ctx, http.MethodGet, "/version", nil, &v); err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

// Allowed implements Cluster.
func (k *KubeClient) Allowed(ctx context.Context, attr authorizationv1.ResourceAttributes) (bool, error) {
	review := authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attr}}
	review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
	body, err := json.Marshal(review)
	if err != nil {
		return false, err
	}
	var out authorizationv1.SelfSubjectAccessReview
	if err := k.do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, &out); err != nil {
		return false, fmt.Errorf("selfsubjectaccessreview %s %s: %w", attr.Verb, attr.Resource, err)
	}
	return out.Status.Allowed, nil
}

func (k *KubeClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, k.host+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &st)
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, st.Message)
	}
	return json.Unmarshal(b, out)
}

// Read is one resource K8flex's collectors read, with get and list.
type Read struct {
	Group, Resource, Subresource string
}

func (r Read) String() string {
	s := r.Resource
	if r.Subresource != "" {
		s += "/" + r.Subresource
	}
	if r.Group != "" {
		s += "." + r.Group
	}
	return s
}

// rbacFix says where the read-only rules live.
const rbacFix = "bind K8flex's ServiceAccount to the read-only ClusterRole shipped in " +
	"manifests/base/clusterrole.yaml (or the Helm chart with rbac.create=true), which grants get and list on exactly these"

// Kube returns the cluster checks for the identity of c: the API server
// answers; every read (get and list, cluster-wide) is allowed, asked of
// the authorizer with SelfSubjectAccessReviews; and Secrets are denied.
// connectErr, when not nil, is why no client could be built (the first
// check then fails with it and the others are skipped).
func Kube(c Cluster, connectErr error, reads []Read) []Check {
	var reachable bool
	checks := []Check{{Name: "kubernetes: API server reachable", Run: func(ctx context.Context) Result {
		if connectErr != nil {
			return Failed("set kube.kubeconfig and kube.context (K8FLEX_KUBE_KUBECONFIG, K8FLEX_KUBE_CONTEXT), "+
				"or run in a pod with its ServiceAccount token mounted", "%v", connectErr)
		}
		v, err := c.ServerVersion(ctx)
		if err != nil {
			return Failed("check the kubeconfig's server address and credentials, and that this machine reaches the API server", "%v", err)
		}
		reachable = true
		return OK("Kubernetes %s", v)
	}}}
	checks = append(checks, Check{Name: "kubernetes: collectors' reads allowed", Run: func(ctx context.Context) Result {
		if !reachable {
			return Skipped("the API server is not reachable")
		}
		var denied []string
		for _, r := range reads {
			for _, verb := range []string{"get", "list"} {
				ok, err := c.Allowed(ctx, authorizationv1.ResourceAttributes{Verb: verb, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource})
				if err != nil {
					return Failed("the identity must be allowed to create selfsubjectaccessreviews (every authenticated user is, by default)",
						"ask the authorizer: %v", err)
				}
				if !ok {
					denied = append(denied, verb+" "+r.String())
				}
			}
		}
		if len(denied) > 0 {
			return Failed(rbacFix+"; missing: "+strings.Join(denied, ", "),
				"%d of %d reads denied: %s", len(denied), 2*len(reads), strings.Join(denied, ", "))
		}
		return OK("get and list allowed on all %d resources", len(reads))
	}})
	checks = append(checks, Check{Name: "kubernetes: Secrets denied", Run: func(ctx context.Context) Result {
		if !reachable {
			return Skipped("the API server is not reachable")
		}
		var granted []string
		for _, verb := range []string{"get", "list", "watch"} {
			ok, err := c.Allowed(ctx, authorizationv1.ResourceAttributes{Verb: verb, Resource: "secrets"})
			if err != nil {
				return Failed("the identity must be allowed to create selfsubjectaccessreviews", "ask the authorizer: %v", err)
			}
			if ok {
				granted = append(granted, verb)
			}
		}
		if len(granted) > 0 {
			return Failed("K8flex never reads Secrets: remove the binding that grants them and keep only the read-only ClusterRole ("+rbacFix+")",
				"the identity may %s secrets", strings.Join(granted, ", "))
		}
		return OK("get, list and watch on secrets are denied")
	}})
	return checks
}
