package llm

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	"github.com/k8flex/k8flex/investigate"
)

// DefaultLocalDimensions is the vector size of the built-in embedder.
const DefaultLocalDimensions = 384

// LocalEmbedder is the built-in embedder: it needs no model and no network.
// A text becomes a fixed-size vector of hashed features: word unigrams and
// bigrams and character trigrams (FNV-1a, signed hashing), weighted by
// sublinear term frequency (1+ln tf) and L2-normalised, so cosine similarity
// is a dot product. It is deterministic across runs and machines.
//
// Input convention: embed one line per alert built as
// "alertname severity category summary key-labels" (the engine embeds
// alertname + severity + category + summary + namespace/pod/deployment/node
// labels). CamelCase alert names are split into words too, so
// "KubePodCrashLooping" also contributes "kube pod crash looping".
type LocalEmbedder struct {
	dims int
}

var _ investigate.Embedder = (*LocalEmbedder)(nil)

// NewLocalEmbedder returns a built-in embedder of dims dimensions
// (DefaultLocalDimensions when dims <= 0).
func NewLocalEmbedder(dims int) *LocalEmbedder {
	if dims <= 0 {
		dims = DefaultLocalDimensions
	}
	return &LocalEmbedder{dims: dims}
}

// Dimensions returns the vector size.
func (e *LocalEmbedder) Dimensions() int { return e.dims }

// Embed returns one L2-normalised vector per text (all zeros for a text
// without words). It never fails unless ctx is done.
func (e *LocalEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = e.Vector(t)
	}
	return out, nil
}

// Feature weights: whole words carry most meaning, bigrams keep some order,
// trigrams make near-spellings (pods/pod, OOMKilled/OOMKill) meet.
const (
	weightWord    = 1.0
	weightBigram  = 0.6
	weightTrigram = 0.25
)

// Vector embeds one text.
func (e *LocalEmbedder) Vector(text string) []float32 {
	words := localWords(text)
	tf := make(map[string]float64, len(words)*6)
	for i, w := range words {
		tf["w:"+w] += weightWord
		if i > 0 {
			tf["b:"+words[i-1]+" "+w] += weightBigram
		}
		padded := " " + w + " "
		r := []rune(padded)
		for j := 0; j+3 <= len(r); j++ {
			tf["c:"+string(r[j:j+3])] += weightTrigram
		}
	}
	v := make([]float64, e.dims)
	for f, w := range tf {
		h := fnv.New64a()
		_, _ = h.Write([]byte(f))
		x := h.Sum64()
		idx := int(x % uint64(e.dims))
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[idx] += sign * (1 + math.Log(w/weightOf(f))) * weightOf(f)
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, e.dims)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// weightOf returns the per-occurrence weight of a feature's kind.
func weightOf(f string) float64 {
	switch f[0] {
	case 'w':
		return weightWord
	case 'b':
		return weightBigram
	}
	return weightTrigram
}

// localWords lower-cases text and splits it into words on anything but
// letters and digits; a CamelCase word also yields its parts.
func localWords(text string) []string {
	var words []string
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		parts := camelParts(tok)
		words = append(words, strings.ToLower(tok))
		if len(parts) > 1 {
			for _, p := range parts {
				words = append(words, strings.ToLower(p))
			}
		}
	}
	return words
}

// camelParts splits "KubePodCrashLooping" into Kube Pod Crash Looping and
// "OOMKilled" into OOM Killed.
func camelParts(s string) []string {
	r := []rune(s)
	var parts []string
	start := 0
	for i := 1; i < len(r); i++ {
		lowerToUpper := unicode.IsLower(r[i-1]) && unicode.IsUpper(r[i])
		acronymEnd := i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsUpper(r[i]) && unicode.IsLower(r[i+1])
		if lowerToUpper || acronymEnd {
			parts = append(parts, string(r[start:i]))
			start = i
		}
	}
	return append(parts, string(r[start:]))
}
