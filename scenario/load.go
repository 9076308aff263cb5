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
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/metrics"
)

// File names inside a scenario directory.
const (
	AlertFile   = "alert.json"
	ClusterFile = "cluster.yaml"
	ExpectFile  = "expect.yaml"
	LogsDir     = "logs"
	// MetricsFile is optional: the Prometheus series of the incident, as
	// OpenMetrics text with a timestamp on every sample.
	MetricsFile = "metrics.om"
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
	// file order. Kinds K8flex never reads (outside k8s.NewScheme) are
	// left out and named in Skipped.
	Objects []runtime.Object
	Skipped []string
	// cluster serves Objects as loaded to every Gatherer (collectors only
	// read, and reads return copies).
	cluster *k8s.Memory
	// Logs serves logs/<ns>/<pod>/<container>[.previous].log.
	Logs *FileLogs
	// Metrics are the series of metrics.om; nil when the file is absent.
	Metrics *metrics.File
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
	if s.Objects, s.Skipped, err = DecodeObjects(cluster); err != nil {
		return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, ClusterFile, err)
	}
	om, err := fs.ReadFile(fsys, path.Join(dir, MetricsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("load scenario %s: %w", s.Name, err)
	default:
		if s.Metrics, err = metrics.ParseOpenMetrics(om); err != nil {
			return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, MetricsFile, err)
		}
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
	if s.cluster, err = k8s.NewMemory(s.Objects...); err != nil {
		return nil, fmt.Errorf("load scenario %s: %s: %w", s.Name, ClusterFile, err)
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

// DecodeObjects decodes a multi-document YAML of Kubernetes objects of the
// API groups K8flex reads (k8s.NewScheme: built-in groups and
// metrics.k8s.io/v1beta1) into typed objects. Documents of other group
// versions are skipped and reported as "apiVersion/Kind" in skipped. An
// unknown kind of a group version K8flex reads and an unknown field are
// errors, so a typo does not silently vanish.
func DecodeObjects(data []byte) (objs []runtime.Object, skipped []string, err error) {
	scheme := k8s.NewScheme()
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, skipped, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm runtime.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		if gvk := tm.GroupVersionKind(); gvk.Kind != "" && !scheme.IsVersionRegistered(gvk.GroupVersion()) {
			skipped = append(skipped, tm.APIVersion+"/"+tm.Kind)
			continue
		}
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		if meta.IsListType(obj) {
			items, err := meta.ExtractList(obj)
			if err != nil {
				return nil, nil, fmt.Errorf("document %d (%s): %w", i, gvk.Kind, err)
			}
			objs = append(objs, items...)
			continue
		}
		objs = append(objs, obj)
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

// Gatherer returns a new k8s.Gatherer (its own shared-read cache) over the
// scenario's objects as loaded (metrics included) and the recorded logs;
// opts.Metrics and opts.Logs are replaced, the rest of opts is kept.
func (s *Scenario) Gatherer(opts k8s.Options) *k8s.Gatherer {
	opts.Metrics = s.cluster
	opts.Logs = s.Logs
	return k8s.NewGatherer(s.cluster, opts)
}

// MetricsSource returns a source answering K8flex's Prometheus queries
// from the scenario's metrics.om (cfg gives the metric names and the
// window), or nil when the scenario has none.
func (s *Scenario) MetricsSource(cfg metrics.Config) investigate.MetricsSource {
	if s.Metrics == nil {
		return nil
	}
	return metrics.NewSource(s.Metrics, cfg, nil)
}
