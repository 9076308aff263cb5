package server

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/k8s"
)

// ClusterGatherer connects to the cluster: in-cluster config when running
// in a pod, else kube.kubeconfig / $KUBECONFIG / ~/.kube/config.
func ClusterGatherer(cfg config.Config, log zerolog.Logger) (*k8s.Gatherer, error) {
	rc, err := RestConfig(cfg.Kube)
	if err != nil {
		return nil, err
	}
	cluster, err := k8s.NewCluster(rc)
	if err != nil {
		return nil, err
	}
	opts := GathererOptions(cfg, log)
	opts.Metrics = cluster
	return k8s.NewGatherer(cluster, opts), nil
}

// ErrNoCluster is returned when no cluster is configured at all; it names
// K8flex's own settings (client-go's message names KUBERNETES_MASTER).
var ErrNoCluster = errors.New("no Kubernetes cluster configured: set kube.kubeconfig (K8FLEX_KUBE_KUBECONFIG) " +
	"to a kubeconfig file (or provide $KUBECONFIG or ~/.kube/config), or run k8flex in a pod with its ServiceAccount")

// RestConfig returns the client configuration for c: in a pod (and
// kube.kubeconfig empty) the in-cluster one, else the kubeconfig file's.
// Every error names the K8flex setting to change.
func RestConfig(c config.KubeConfig) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if c.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config (KUBERNETES_SERVICE_HOST is set; set kube.kubeconfig to use a file instead): %w", err)
		}
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if c.Kubeconfig != "" {
			rules.ExplicitPath = c.Kubeconfig
		}
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: c.Context})
		// client-go reports a context missing from the file as plain text:
		// look it up in the file instead, to name kube.context.
		if raw, rerr := loader.RawConfig(); rerr == nil && c.Context != "" && len(raw.Contexts) > 0 && raw.Contexts[c.Context] == nil {
			return nil, fmt.Errorf("kube.context %q: no such context in the kubeconfig (it has %s)", c.Context, contextNames(raw.Contexts))
		}
		rc, err = loader.ClientConfig()
		switch {
		case err == nil:
		case clientcmd.IsEmptyConfig(err) && c.Kubeconfig == "" && c.Context == "":
			return nil, ErrNoCluster
		case c.Context != "" && clientcmd.IsContextNotFound(err):
			return nil, fmt.Errorf("kube.context %q: %w", c.Context, err)
		case clientcmd.IsEmptyConfig(err):
			return nil, fmt.Errorf("kube.kubeconfig %q defines no cluster to use (kube.context %q)", c.Kubeconfig, c.Context)
		case c.Kubeconfig != "":
			return nil, fmt.Errorf("kube.kubeconfig %q: %w", c.Kubeconfig, err)
		default:
			return nil, fmt.Errorf("kubernetes config ($KUBECONFIG or ~/.kube/config; set kube.kubeconfig to choose a file): %w", err)
		}
	}
	rc.QPS, rc.Burst = float32(c.QPS), c.Burst
	rc.UserAgent = "k8flex"
	return rc, nil
}

// contextNames lists a kubeconfig's context names, sorted.
func contextNames[V any](contexts map[string]V) string {
	names := slices.Sorted(maps.Keys(contexts))
	return strings.Join(names, ", ")
}
