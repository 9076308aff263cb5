package llmtest

import (
	"encoding/json"
	"io"
	"net/http"
)

func readBody(f *Fake, w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		f.problem("%s: read body: %v", r.URL.Path, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return nil, false
	}
	return b, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
