//! What a load run counts: an HDR histogram of latencies, errors by kind, responses by status
//! class and a per-second timeline. Each connection task keeps its own and they are merged at the
//! end, so the hot path takes no locks and memory stays bounded whatever the run length.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Could not connect (refused, unreachable, connect timeout).
    Connect,
    /// No response within the request timeout.
    Timeout,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// Anything else (protocol errors).
    Other,
}

/// Errors by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub timeout: u64,
    pub reset: u64,
    pub other: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.reset + self.other
    }
}

/// Responses by HTTP status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    #[serde(rename = "1xx")]
    pub s1xx: u64,
    #[serde(rename = "2xx")]
    pub s2xx: u64,
    #[serde(rename = "3xx")]
    pub s3xx: u64,
    #[serde(rename = "4xx")]
    pub s4xx: u64,
    #[serde(rename = "5xx")]
    pub s5xx: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Responses completed in this second.
    pub responses: u64,
    /// Errors in this second.
    pub errors: u64,
}

/// Counters of one connection task (or, merged, of the whole run).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency in microseconds (1 us .. 60 s, 3 significant digits).
    pub latency_us: Histogram<u64>,
    pub errors: ErrorCounts,
    pub statuses: StatusCounts,
    pub timeline: Vec<Second>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            errors: ErrorCounts::default(),
            statuses: StatusCounts::default(),
            timeline: Vec::new(),
        }
    }
}

impl Stats {
    fn second(&mut self, at: Duration) -> &mut Second {
        let i = at.as_secs() as usize;
        if self.timeline.len() <= i {
            self.timeline.resize(i + 1, Second::default());
        }
        &mut self.timeline[i]
    }

    /// A response with `status` after `latency`, completed `at` into the run.
    pub fn push_response(&mut self, status: u16, latency: Duration, at: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, 60_000_000);
        self.latency_us.saturating_record(us);
        match status / 100 {
            1 => self.statuses.s1xx += 1,
            2 => self.statuses.s2xx += 1,
            3 => self.statuses.s3xx += 1,
            4 => self.statuses.s4xx += 1,
            _ => self.statuses.s5xx += 1,
        }
        self.second(at).responses += 1;
    }

    pub fn push_error(&mut self, kind: ErrorKind, at: Duration) {
        match kind {
            ErrorKind::Connect => self.errors.connect += 1,
            ErrorKind::Timeout => self.errors.timeout += 1,
            ErrorKind::Reset => self.errors.reset += 1,
            ErrorKind::Other => self.errors.other += 1,
        }
        self.second(at).errors += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        self.latency_us
            .add(&other.latency_us)
            .expect("same histogram bounds");
        let e = &other.errors;
        self.errors.connect += e.connect;
        self.errors.timeout += e.timeout;
        self.errors.reset += e.reset;
        self.errors.other += e.other;
        let s = &other.statuses;
        self.statuses.s1xx += s.s1xx;
        self.statuses.s2xx += s.s2xx;
        self.statuses.s3xx += s.s3xx;
        self.statuses.s4xx += s.s4xx;
        self.statuses.s5xx += s.s5xx;
        if self.timeline.len() < other.timeline.len() {
            self.timeline
                .resize(other.timeline.len(), Second::default());
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(&other.timeline) {
            mine.responses += theirs.responses;
            mine.errors += theirs.errors;
        }
    }

    pub fn responses(&self) -> u64 {
        self.latency_us.len()
    }
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_everything_up() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        a.push_response(200, Duration::from_micros(100), Duration::from_millis(10));
        b.push_response(503, Duration::from_micros(300), Duration::from_millis(1500));
        b.push_error(ErrorKind::Reset, Duration::from_millis(1600));
        a.merge(&b);
        assert_eq!(a.responses(), 2);
        assert_eq!((a.statuses.s2xx, a.statuses.s5xx), (1, 1));
        assert_eq!(a.errors.reset, 1);
        assert_eq!(
            a.timeline,
            vec![
                Second {
                    responses: 1,
                    errors: 0
                },
                Second {
                    responses: 1,
                    errors: 1
                }
            ]
        );
        let p = Percentiles::of(&a.latency_us);
        assert!(p.p50 >= 99 && p.p50 <= 101, "{p:?}");
        assert!(p.max >= 299 && p.max <= 301, "{p:?}");
    }
}
