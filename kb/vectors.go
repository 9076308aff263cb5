package kb

import (
	"encoding/binary"
	"math"
	"runtime"
	"sort"
	"sync"
)

// vectorIndex holds the unit-length embeddings of validated cases in one
// flat slab, for brute-force cosine search. It is safe for concurrent use.
type vectorIndex struct {
	mu   sync.RWMutex
	dims int
	ids  []string
	pos  map[string]int
	data []float32 // len(ids)*dims
	// tails[i] is the norm of row i's second half (dims/2 onwards): with
	// Cauchy-Schwarz it bounds what that half can add to a dot product,
	// so search skips rows that cannot reach the cut-off after one half.
	tails []float32
}

func newVectorIndex(dims int) *vectorIndex {
	return &vectorIndex{dims: dims, pos: make(map[string]int)}
}

// set stores (or replaces) the embedding of id; v must have dims floats.
func (x *vectorIndex) set(id string, v []float32) {
	u := normalize(v)
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.pos[id]; ok {
		copy(x.data[i*x.dims:(i+1)*x.dims], u)
		x.tails[i] = norm(u[x.dims/2:])
		return
	}
	x.pos[id] = len(x.ids)
	x.ids = append(x.ids, id)
	x.data = append(x.data, u...)
	x.tails = append(x.tails, norm(u[x.dims/2:]))
}

// remove drops id's embedding, moving the last one into its place.
func (x *vectorIndex) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.pos[id]
	if !ok {
		return
	}
	last := len(x.ids) - 1
	if i != last {
		x.ids[i] = x.ids[last]
		x.pos[x.ids[i]] = i
		copy(x.data[i*x.dims:(i+1)*x.dims], x.data[last*x.dims:])
		x.tails[i] = x.tails[last]
	}
	x.ids = x.ids[:last]
	x.data = x.data[:last*x.dims]
	x.tails = x.tails[:last]
	delete(x.pos, id)
}

func (x *vectorIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

type hit struct {
	id    string
	score float64
}

// parallelScanRows is the slab size from which search splits the scan
// across GOMAXPROCS goroutines.
const parallelScanRows = 16 << 10

// search returns up to topN ids whose cosine similarity to q is at least
// threshold, best first.
func (x *vectorIndex) search(q []float32, threshold float64, topN int) []hit {
	u := normalize(q)
	x.mu.RLock()
	defer x.mu.RUnlock()
	rows := len(x.ids)
	workers := min(runtime.GOMAXPROCS(0), rows/parallelScanRows)
	if workers <= 1 {
		return x.scan(u, 0, rows, threshold, topN)
	}
	parts := make([][]hit, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w] = x.scan(u, rows*w/workers, rows*(w+1)/workers, threshold, topN)
		}()
	}
	wg.Wait()
	var all []hit
	for _, p := range parts {
		all = append(all, p...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	if len(all) > topN {
		all = all[:topN]
	}
	return all
}

// scan keeps the topN best rows of [from, to) at or above threshold.
func (x *vectorIndex) scan(u []float32, from, to int, threshold float64, topN int) []hit {
	top := make([]hit, 0, topN+1)
	consider := func(i int, s float32) {
		sc := float64(s)
		if sc < threshold || (len(top) == topN && sc <= top[topN-1].score) {
			return
		}
		k := sort.Search(len(top), func(k int) bool { return top[k].score < sc })
		top = append(top, hit{})
		copy(top[k+1:], top[k:])
		top[k] = hit{id: x.ids[i], score: sc}
		if len(top) > topN {
			top = top[:topN]
		}
	}
	d, h := x.dims, x.dims/2
	head, rest := u[:h], u[h:]
	restNorm := norm(rest)
	// cutoff is the score a row must reach to enter top; the small margin
	// keeps float rounding from pruning a row exactly at the threshold.
	cutoff := func() float32 {
		c := threshold
		if len(top) == topN && top[topN-1].score > c {
			c = top[topN-1].score
		}
		return float32(c) - 1e-5
	}
	finish := func(i int, partial float32) {
		if partial+restNorm*x.tails[i] < cutoff() {
			return // the second half cannot lift it to the cut-off
		}
		consider(i, partial+dot(rest, x.data[i*d+h:(i+1)*d]))
	}
	i := from
	for ; i+4 <= to; i += 4 {
		p0, p1, p2, p3 := dot4(head, x.data[i*d:i*d+h], x.data[(i+1)*d:(i+1)*d+h], x.data[(i+2)*d:(i+2)*d+h], x.data[(i+3)*d:(i+3)*d+h])
		finish(i, p0)
		finish(i+1, p1)
		finish(i+2, p2)
		finish(i+3, p3)
	}
	for ; i < to; i++ {
		finish(i, dot(head, x.data[i*d:i*d+h]))
	}
	return top
}

func norm(v []float32) float32 {
	return float32(math.Sqrt(float64(dot(v, v))))
}

// dot4 returns q's dot products with four rows in one pass, sharing the
// loads of q (about twice as fast as four separate dots).
func dot4(q, r0, r1, r2, r3 []float32) (float32, float32, float32, float32) {
	n := len(q)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	var s0, s1, s2, s3 float32
	for i, x := range q {
		s0 += x * r0[i]
		s1 += x * r1[i]
		s2 += x * r2[i]
		s3 += x * r3[i]
	}
	return s0, s1, s2, s3
}

// dot is the dot product of two equal-length vectors, four lanes at a time.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// encodeVector stores a vector as little-endian float32s.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
