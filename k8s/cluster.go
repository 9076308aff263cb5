package k8s

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Cluster reads a live cluster through its API server: one REST client per
// API group version over one HTTP client and one rate limiter (cfg.QPS and
// cfg.Burst bound all reads together). Built-in groups are read as
// protobuf, metrics.k8s.io as JSON. It implements Reader and LogSource and
// is safe for concurrent use.
//
// Cluster stands in for client-go's generated clientset, which would link
// and initialise every built-in API group (several MiB of resident memory
// in a process that reads a dozen resources).
type Cluster struct {
	clients map[schema.GroupVersion]*rest.RESTClient
	params  runtime.ParameterCodec
}

var _ Reader = (*Cluster)(nil)
var _ LogSource = (*Cluster)(nil)

// NewCluster returns a Cluster for cfg. cfg is not modified.
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	base := rest.CopyConfig(cfg)
	if base.RateLimiter == nil && base.QPS > 0 {
		base.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(base.QPS, base.Burst)
	}
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, fmt.Errorf("kubernetes http client: %w", err)
	}
	scheme := NewScheme()
	codecs := serializer.NewCodecFactory(scheme)
	c := &Cluster{clients: map[schema.GroupVersion]*rest.RESTClient{}, params: runtime.NewParameterCodec(scheme)}
	for _, res := range ReadResources() {
		gv := res.GroupVersion()
		if c.clients[gv] != nil {
			continue
		}
		rc := rest.CopyConfig(base)
		rc.GroupVersion = &gv
		rc.APIPath = "/apis"
		if gv.Group == "" {
			rc.APIPath = "/api"
		}
		rc.NegotiatedSerializer = codecs.WithoutConversion()
		if gv.Group != metricsv1beta1.GroupName {
			rc.ContentType = runtime.ContentTypeProtobuf
			rc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		}
		client, err := rest.RESTClientForConfigAndClient(rc, hc)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client for %s: %w", gv, err)
		}
		c.clients[gv] = client
	}
	return c, nil
}

func (c *Cluster) client(r schema.GroupVersionResource) (*rest.RESTClient, error) {
	rc, ok := c.clients[r.GroupVersion()]
	if !ok {
		return nil, fmt.Errorf("k8s: no client for %s", r.GroupVersion())
	}
	return rc, nil
}

// Get implements Reader.
func (c *Cluster) Get(ctx context.Context, r schema.GroupVersionResource, namespace, name string, into runtime.Object) error {
	rc, err := c.client(r)
	if err != nil {
		return err
	}
	return rc.Get().NamespaceIfScoped(namespace, namespace != "").Resource(r.Resource).Name(name).
		Do(ctx).Into(into)
}

// List implements Reader.
func (c *Cluster) List(ctx context.Context, r schema.GroupVersionResource, namespace string, opts metav1.ListOptions, into runtime.Object) error {
	rc, err := c.client(r)
	if err != nil {
		return err
	}
	return rc.Get().NamespaceIfScoped(namespace, namespace != "").Resource(r.Resource).
		VersionedParams(&opts, metav1.ParameterCodec).Do(ctx).Into(into)
}

// Logs implements LogSource through the pods/log subresource: the last
// tailLines lines (all when tailLines <= 0), at most 256 KiB. A container
// instance that has no log reads as empty, not as an error: the kubelet
// answers 400 "previous terminated container ... not found" for a previous
// instance that does not exist (never restarted, or already removed) and
// "... is waiting to start" for a container that has not run yet. Other
// refusals keep the API server's words (the Status it answers with).
func (c *Cluster) Logs(ctx context.Context, namespace, pod, container string, previous bool, tailLines int) (string, error) {
	tail, limit := int64(tailLines), int64(maxLogBytes)
	opts := &corev1.PodLogOptions{Container: container, Previous: previous, LimitBytes: &limit}
	if tailLines > 0 {
		opts.TailLines = &tail
	}
	res := c.clients[corev1.SchemeGroupVersion].Get().Namespace(namespace).Resource("pods").Name(pod).
		SubResource("log").VersionedParams(opts, c.params).Do(ctx)
	b, err := res.Raw()
	if err != nil {
		err = res.Error() // the Status the server answered with, when it sent one
		if noInstance(err) {
			return "", nil
		}
		return "", fmt.Errorf("logs of %s/%s container %s: %w", namespace, pod, container, err)
	}
	return string(b), nil
}

// noInstance reports whether err is the kubelet saying, through the API
// server, that the container instance asked for has no log because it does
// not exist (yet or any more).
func noInstance(err error) bool {
	if !apierrors.IsBadRequest(err) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	msg := strings.TrimSpace(status.Status().Message)
	return (strings.HasPrefix(msg, "previous terminated container ") && strings.HasSuffix(msg, " not found")) ||
		strings.Contains(msg, " is waiting to start")
}
