//! Prometheus text-format metrics: per-route request counts and latency histograms recorded by
//! the start-up middleware, plus counters and gauges a service registers for its own work.
//! Routes are labelled by their pattern (`/hash/{tails_hash}`), never by the raw path, so ids
//! and tokens neither leak nor blow up the label set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A monotonically increasing count a service owns.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

type GaugeFn = Box<dyn Fn() -> f64 + Send + Sync>;
type LabelledGaugeFn = Box<dyn Fn() -> Vec<(String, f64)> + Send + Sync>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    counters: Mutex<BTreeMap<String, (String, Counter)>>,
    gauges: Mutex<BTreeMap<String, (String, GaugeFn)>>,
    labelled_gauges: Mutex<BTreeMap<String, (String, &'static str, LabelledGaugeFn)>>,
}

/// The registry of one service. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Metrics {
    service: &'static str,
    started: SystemTime,
    inner: Arc<Inner>,
}

impl Metrics {
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            started: SystemTime::now(),
            inner: Arc::default(),
        }
    }

    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut requests = lock(&self.inner.requests);
        *requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        drop(requests);

        let seconds = elapsed.as_secs_f64();
        let mut latency = lock(&self.inner.latency);
        let histogram = latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The counter `name` (registered on first use). `name` must be a valid metric name.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let mut counters = lock(&self.inner.counters);
        counters
            .entry(name.to_owned())
            .or_insert_with(|| (help.to_owned(), Counter::default()))
            .1
            .clone()
    }

    /// A gauge read when `/metrics` is scraped.
    pub fn gauge(&self, name: &str, help: &str, read: impl Fn() -> f64 + Send + Sync + 'static) {
        lock(&self.inner.gauges).insert(name.to_owned(), (help.to_owned(), Box::new(read)));
    }

    /// A gauge with one series per value of `label`, read when `/metrics` is scraped.
    pub fn labelled_gauge(
        &self,
        name: &str,
        help: &str,
        label: &'static str,
        read: impl Fn() -> Vec<(String, f64)> + Send + Sync + 'static,
    ) {
        lock(&self.inner.labelled_gauges)
            .insert(name.to_owned(), (help.to_owned(), label, Box::new(read)));
    }

    /// The service name this registry reports.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let started = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        header(
            &mut out,
            "service_info",
            "Service name and version.",
            "gauge",
        );
        let _ = writeln!(
            out,
            "service_info{{service=\"{}\",version=\"{}\"}} 1",
            self.service,
            env!("CARGO_PKG_VERSION")
        );
        header(
            &mut out,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch.",
            "gauge",
        );
        let _ = writeln!(out, "process_start_time_seconds {started}");

        header(
            &mut out,
            "http_requests_total",
            "HTTP requests by method, route pattern and status.",
            "counter",
        );
        for ((method, route, status), count) in lock(&self.inner.requests).iter() {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }

        header(
            &mut out,
            "http_request_duration_seconds",
            "HTTP request latency by method and route pattern.",
            "histogram",
        );
        for ((method, route), h) in lock(&self.inner.latency).iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, count) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }

        for (name, (help, counter)) in lock(&self.inner.counters).iter() {
            header(&mut out, name, help, "counter");
            let _ = writeln!(out, "{name} {}", counter.get());
        }
        for (name, (help, read)) in lock(&self.inner.gauges).iter() {
            header(&mut out, name, help, "gauge");
            let _ = writeln!(out, "{name} {}", read());
        }
        for (name, (help, label, read)) in lock(&self.inner.labelled_gauges).iter() {
            header(&mut out, name, help, "gauge");
            for (value, reading) in read() {
                let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {reading}", escape(&value));
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_histograms_counters_and_gauges() {
        let metrics = Metrics::new("demo");
        metrics.observe("GET", "/hash/{tails_hash}", 200, Duration::from_millis(3));
        metrics.observe("GET", "/hash/{tails_hash}", 200, Duration::from_millis(300));
        metrics.observe("GET", "/hash/{tails_hash}", 404, Duration::from_millis(1));
        let uploads = metrics.counter("tails_uploads_total", "Tails files stored.");
        uploads.add(2);
        metrics.counter("tails_uploads_total", "ignored").inc();
        metrics.gauge("db_connections", "Open connections.", || 4.0);
        metrics.labelled_gauge("demo_dependency_up", "Up.", "dependency", || {
            vec![("ledger".to_owned(), 0.0)]
        });

        let text = metrics.render();
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/hash/{tails_hash}\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/hash/{tails_hash}\",status=\"404\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hash/{tails_hash}\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hash/{tails_hash}\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("tails_uploads_total 3"));
        assert!(text.contains("db_connections 4"));
        assert!(text.contains("demo_dependency_up{dependency=\"ledger\"} 0"));
        assert!(text.contains("service_info{service=\"demo\""));
    }
}
