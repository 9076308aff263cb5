package scenario

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
)

// File names inside a scenario directory.
const (
	AlertFile   = "alert.json"
	ClusterFile = "cluster.yaml"
	ExpectFile  = "expect.yaml"
	LogsDir     = "logs"
)

// Expect is what a correct investigation of the scenario concludes
// (expect.yaml). Every RootCause group must be matched by the analysis (a
// group matches when any of its phrases occurs, case-insensitively);
// Evidence groups are scored separately; no MustNotContain string may occur
// in anything the investigation produced.
type Expect struct {
	Category       investigate.Category `json:"category"`
	AlsoAccept     []string             `json:"also_accept,omitempty"`
	RootCause      [][]string           `json:"root_cause,omitempty"`
	Evidence       [][]string           `json:"evidence,omitempty"`
	MustNotContain []string             `json:"must_not_contain,omitempty"`
	Summary        string               `json:"summary,omitempty"`
}

// Scenario is one loaded incident.
type Scenario struct {
	// Name is the scenario directory's base name.
	Name string
	// Message is the Alertmanager webhook payload of alert.json.
	Message *investigate.WebhookMessage
	// Objects are the typed objects of cluster.yaml, metrics included, in
	// file order.
	Objects []runtime.Object
	// Logs serves logs/<ns>/<pod>/<container>[.previous].log.
	Logs *FileLogs
	// Expect is expect.yaml; HasExpect is false when the file is absent.
	Expect    Expect
	HasExpect bool
}

// Alert returns the scenario's first alert.
func (s *Scenario) Alert() *investigate.Alert { return &s.Message.Alerts[0] }

// Load reads the scenario in directory dir.
func Load(dir string) (*Scenario, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", dir, err)
	}
	s, err := LoadFS(os.DirFS(abs), ".")
	if err != nil {
		return nil, err
	}
	s.Name = filepath.Base(abs)
	return s, nil
}

// LoadFS reads the scenario in directory dir of fsys (e.g. an embed.FS).
func LoadFS(fsys fs.FS, dir string) (*Scenario, error) {
	s := &Scenario{Name: path.Base(dir), Logs: &FileLogs{fsys: fsys, dir: path.Join(dir, LogsDir)}}
	body, err := fs.ReadFile(fsys, path.Join(dir, AlertFile))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", s.Name, err)
	}
	if s.Message, err = investigate.ParseWebhook(body); err != nil {
		return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, AlertFile, err)
	}
	cluster, err := fs.ReadFile(fsys, path.Join(dir, ClusterFile))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", s.Name, err)
	}
	if s.Objects, err = DecodeObjects(cluster); err != nil {
		return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, ClusterFile, err)
	}
	exp, err := fs.ReadFile(fsys, path.Join(dir, ExpectFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("load scenario %s: %w", s.Name, err)
	default:
		if err := yaml.UnmarshalStrict(exp, &s.Expect); err != nil {
			return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, ExpectFile, err)
		}
		if _, ok := investigate.ParseCategory(string(s.Expect.Category)); !ok {
			return nil, fmt.Errorf("load scenario %s: %s: unknown category %q", s.Name, ExpectFile, s.Expect.Category)
		}
		for _, c := range s.Expect.AlsoAccept {
			if _, ok := investigate.ParseCategory(c); !ok {
				return nil, fmt.Errorf("load scenario %s: %s: unknown category %q in also_accept", s.Name, ExpectFile, c)
			}
		}
		s.HasExpect = true
	}
	// Build once to report objects the fake clientsets refuse.
	if _, _, err := s.clientsets(); err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", s.Name, err)
	}
	return s, nil
}

// LoadAll loads every scenario directory (one holding alert.json) directly
// under root in fsys, sorted by name.
func LoadAll(fsys fs.FS, root string) ([]*Scenario, error) {
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("load scenarios in %s: %w", root, err)
	}
	var out []*Scenario
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(fsys, path.Join(root, e.Name(), AlertFile)); err != nil {
			continue
		}
		s, err := LoadFS(fsys, path.Join(root, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// scheme knows the built-in kinds and metrics.k8s.io.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // static registration of compiled-in types cannot fail
	}
	if err := metricsv1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// DecodeObjects decodes a multi-document YAML of Kubernetes objects
// (built-in kinds and metrics.k8s.io/v1beta1) into typed objects. Unknown
// fields are errors, so a mistyped field does not silently vanish.
func DecodeObjects(data []byte) ([]runtime.Object, error) {
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if meta.IsListType(obj) {
			items, err := meta.ExtractList(obj)
			if err != nil {
				return nil, fmt.Errorf("document %d (%s): %w", i, gvk.Kind, err)
			}
			out = append(out, items...)
			continue
		}
		out = append(out, obj)
	}
}

// stripComments drops YAML comment lines (a document of only comments is empty).
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// metricsResources maps the metrics kinds to the resources the metrics
// clientset reads (the tracker cannot guess them from the kind).
var metricsResources = map[string]schema.GroupVersionResource{
	"PodMetrics":  metricsv1beta1.SchemeGroupVersion.WithResource("pods"),
	"NodeMetrics": metricsv1beta1.SchemeGroupVersion.WithResource("nodes"),
}

// clientsets builds fresh fake clientsets holding the scenario's objects.
func (s *Scenario) clientsets() (*fake.Clientset, *metricsfake.Clientset, error) {
	cs := fake.NewClientset()
	mc := metricsfake.NewSimpleClientset()
	for i, obj := range s.Objects {
		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvr, ok := metricsResources[gvk.Kind]; ok && gvk.Group == metricsv1beta1.GroupName {
			acc, err := meta.Accessor(obj)
			if err != nil {
				return nil, nil, fmt.Errorf("object %d (%s): %w", i+1, gvk.Kind, err)
			}
			if err := mc.Tracker().Create(gvr, obj, acc.GetNamespace()); err != nil {
				return nil, nil, fmt.Errorf("object %d (%s %s): %w", i+1, gvk.Kind, acc.GetName(), err)
			}
			continue
		}
		if err := cs.Tracker().Add(obj.DeepCopyObject()); err != nil {
			name := ""
			if acc, aerr := meta.Accessor(obj); aerr == nil {
				name = acc.GetNamespace() + "/" + acc.GetName()
			}
			return nil, nil, fmt.Errorf("object %d (%s %s): %w", i+1, gvk.Kind, name, err)
		}
	}
	return cs, mc, nil
}

// Gatherer returns a k8s.Gatherer over fresh fake clientsets holding the
// scenario's objects and the recorded logs; opts.Metrics and opts.Logs are
// replaced, the rest of opts is kept.
func (s *Scenario) Gatherer(opts k8s.Options) *k8s.Gatherer {
	cs, mc, err := s.clientsets()
	if err != nil {
		// LoadFS already built these clientsets once from the same objects.
		cs, mc = fake.NewClientset(), metricsfake.NewSimpleClientset()
	}
	opts.Metrics = mc
	opts.Logs = s.Logs
	return k8s.NewGatherer(cs, opts)
}
