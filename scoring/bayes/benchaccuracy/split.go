package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// sample is one corpus message.
type sample struct {
	Path  string // relative to the corpus
	Group string // easy_ham, hard_ham, spam, ...
	Spam  bool
	Raw   []byte // without the mbox "From " line
	Msg   *message.Message
	Test  bool
}

func loadCorpus(dir string) ([]*sample, error) {
	f, err := os.Open(filepath.Join(dir, "index.tsv"))
	if err != nil {
		return nil, fmt.Errorf("corpus index: %w (fetch it with ../shared/testdata/corpus/fetch-sa-corpus.sh)", err)
	}
	defer f.Close()
	var out []*sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		label, rel, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(string(raw), "From ") {
			if i := strings.IndexByte(string(raw), '\n'); i >= 0 {
				raw = raw[i+1:]
			}
		}
		m, err := message.Parse(strings.NewReader(string(raw)), 1<<30, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		out = append(out, &sample{Path: rel, Group: filepath.Dir(rel), Spam: label == "spam", Raw: raw, Msg: m})
	}
	return out, sc.Err()
}

// Near-duplicate detection: MinHash signatures of word 5-shingles of the
// decoded text, banded locality-sensitive hashing for candidates, and a
// union of every pair whose estimated Jaccard similarity reaches dupJaccard.
// Clusters go whole to one side of the split, so no message and no
// near-duplicate of it is on both sides.
const (
	shingle    = 5
	numHashes  = 64
	bandRows   = 4 // 16 bands of 4: pairs at Jaccard 0.5 are caught with p≈0.65, at 0.7 with p≈0.99
	dupJaccard = 0.5
)

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// signature hashes the message's decoded text as internal/mime renders it
// (the MIME walk every check shares), not as the Bayes tokenizer reads it,
// so that a tokenizer change does not move the split.
func signature(s *sample) [numHashes]uint64 {
	words := strings.Fields(strings.ToLower(mime.ParseMessage(s.Msg).Text()))
	var sig [numHashes]uint64
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	add := func(h uint64) {
		for i := range sig {
			if v := splitmix(h ^ uint64(i)*0x632be59bd9b4e019); v < sig[i] {
				sig[i] = v
			}
		}
	}
	if len(words) < shingle {
		add(bayes.Hash(strings.Join(words, " ") + "\x00" + s.Msg.Header.Get("Subject")))
		return sig
	}
	for i := 0; i+shingle <= len(words); i++ {
		add(bayes.Hash(strings.Join(words[i:i+shingle], " ")))
	}
	return sig
}

type unionFind []int

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(a, b int) { u[u.find(a)] = u.find(b) }

// split marks a seeded testFrac of the duplicate clusters as test. It
// returns the number of clusters with more than one message and the number
// of messages in them.
func split(samples []*sample, seed uint64, testFrac float64) (dupClusters, dupMsgs int) {
	sigs := make([][numHashes]uint64, len(samples))
	for i, s := range samples {
		sigs[i] = signature(s)
	}
	uf := make(unionFind, len(samples))
	for i := range uf {
		uf[i] = i
	}
	for b := 0; b < numHashes/bandRows; b++ {
		buckets := make(map[[bandRows]uint64][]int)
		for i := range samples {
			var k [bandRows]uint64
			copy(k[:], sigs[i][b*bandRows:(b+1)*bandRows])
			buckets[k] = append(buckets[k], i)
		}
		for _, list := range buckets {
			for x := 1; x < len(list); x++ {
				i, j := list[0], list[x]
				same := 0
				for h := 0; h < numHashes; h++ {
					if sigs[i][h] == sigs[j][h] {
						same++
					}
				}
				if float64(same)/numHashes >= dupJaccard {
					uf.union(i, j)
				}
			}
		}
	}
	clusters := make(map[int][]int)
	for i := range samples {
		r := uf.find(i)
		clusters[r] = append(clusters[r], i)
	}
	roots := make([]int, 0, len(clusters))
	for r, members := range clusters {
		roots = append(roots, r)
		if len(members) > 1 {
			dupClusters++
			dupMsgs += len(members)
		}
	}
	// Order clusters by their first member's path so the split depends on
	// the seed only, not on map order.
	sort.Slice(roots, func(a, b int) bool {
		return samples[clusters[roots[a]][0]].Path < samples[clusters[roots[b]][0]].Path
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for _, r := range roots {
		test := rng.Float64() < testFrac
		for _, i := range clusters[r] {
			samples[i].Test = test
		}
	}
	return dupClusters, dupMsgs
}
