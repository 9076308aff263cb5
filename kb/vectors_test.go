package kb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// naiveSearch is the obvious reference the index must agree with.
func naiveSearch(vecs map[string][]float32, q []float32, threshold float64, topN int) []hit {
	u := normalize(q)
	var all []hit
	for id, v := range vecs {
		w := normalize(v)
		var s float64
		for i := range u {
			s += float64(u[i]) * float64(w[i])
		}
		if s >= threshold {
			all = append(all, hit{id, s})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score > all[j].score })
	if len(all) > topN {
		all = all[:topN]
	}
	return all
}

func TestVectorIndexMatchesNaiveSearch(t *testing.T) {
	const dims = 16
	r := rand.New(rand.NewPCG(7, 7))
	for _, tt := range []struct {
		name      string
		rows      int
		threshold float64
		topN      int
	}{
		{"small sequential", 100, 0.2, 5},
		{"large parallel", 3 * parallelScanRows, 0.5, 7},
		{"nothing above threshold", 50, 1.01, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := newVectorIndex(dims)
			vecs := map[string][]float32{}
			for i := range tt.rows {
				id := fmt.Sprintf("c%d", i)
				vecs[id] = randomVector(r, dims)
				x.set(id, vecs[id])
			}
			// Replace one, remove some: the slab must stay consistent.
			vecs["c3"] = randomVector(r, dims)
			x.set("c3", vecs["c3"])
			for _, id := range []string{"c0", "c7", fmt.Sprintf("c%d", tt.rows-1)} {
				delete(vecs, id)
				x.remove(id)
			}
			if x.len() != len(vecs) {
				t.Fatalf("len = %d, want %d", x.len(), len(vecs))
			}
			for q := range 20 {
				query := randomVector(r, dims)
				if q%2 == 0 {
					query = nearby(r, vecs["c3"])
				}
				got, want := x.search(query, tt.threshold, tt.topN), naiveSearch(vecs, query, tt.threshold, tt.topN)
				if len(got) != len(want) {
					t.Fatalf("query %d: %d hits, want %d", q, len(got), len(want))
				}
				for i := range got {
					if got[i].id != want[i].id || math.Abs(got[i].score-want[i].score) > 1e-5 {
						t.Fatalf("query %d hit %d = %+v, want %+v", q, i, got[i], want[i])
					}
				}
			}
		})
	}
}
