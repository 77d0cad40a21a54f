package tlog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the log's Prometheus collectors.
type Metrics struct {
	appendSeconds prometheus.Histogram
	appendErrors  *prometheus.CounterVec
	batchSize     prometheus.Histogram
	queueDepth    prometheus.Gauge
	treeSize      prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ombud_log_append_seconds",
			Help:    "Time from Append to durable sequencing of one entry.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		appendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ombud_log_append_errors_total",
			Help: "Appends that failed (and so failed closed), by cause.",
		}, []string{"cause"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ombud_log_batch_size",
			Help:    "Entries per sequencing batch written to the log.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15),
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ombud_log_queue_depth",
			Help: "Appends waiting to be durably sequenced.",
		}),
		treeSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ombud_log_tree_size",
			Help: "Entries integrated into the log's tree.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.appendSeconds, m.appendErrors, m.batchSize, m.queueDepth, m.treeSize)
	}
	return m
}
