package demo

import (
	"math"
	"time"
)

// Latency histogram: logarithmic buckets 4 % wide from 50 µs to about
// 15 minutes, so quantiles are exact to within 4 % in fixed memory however
// long the demo runs.
const (
	histMin    = 50 * time.Microsecond
	histGrowth = 1.04
	histBins   = 400
)

var histLogGrowth = math.Log(histGrowth)

type histogram struct {
	n    int64
	bins [histBins]int64
}

func (h *histogram) add(d time.Duration) {
	i := 0
	if d > histMin {
		i = int(math.Log(float64(d)/float64(histMin)) / histLogGrowth)
	}
	h.bins[min(i, histBins-1)]++
	h.n++
}

// quantile returns the upper bound of the bucket holding quantile q
// (0 < q ≤ 1), or 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.bins {
		seen += c
		if seen >= rank {
			return time.Duration(float64(histMin) * math.Pow(histGrowth, float64(i+1)))
		}
	}
	return time.Duration(float64(histMin) * math.Pow(histGrowth, histBins))
}
