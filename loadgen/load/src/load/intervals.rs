//! A fine-grained timeline of a load run: fixed-width intervals (e.g. 100 ms) keyed by each
//! request's intended send time, with outcomes by kind and every latency of the interval, so a
//! moment of trouble (a live filter swap, say) shows as the interval it hit.
//!
//! Only [`crate::load::run_with_intervals`] records it; [`crate::load::run`] keeps the per-second
//! [`super::Second`] timeline only and pays nothing for this. Raw latencies are kept per interval
//! (4 bytes each) rather than one HDR histogram per interval: an open-loop run of a few seconds at
//! a few thousand requests per second holds well under a megabyte, and percentiles are exact.

use std::time::Duration;

use filterbench_model::results::swap::TimelinePoint;

use super::ErrorKind;

/// One interval as recorded (per connection task, then merged).
#[derive(Debug, Clone, Default)]
pub struct IntervalStats {
    /// Requests due in this interval that got a response (any status).
    pub responses: u64,
    /// Of those, status >= 500.
    pub s5xx: u64,
    /// Requests due in this interval whose connection was reset or closed mid-exchange.
    pub reset: u64,
    /// Requests due in this interval with no response within the request timeout.
    pub timeout: u64,
    /// Connect failures and protocol errors.
    pub other: u64,
    /// Responses completed (whatever their due time) in this interval: the throughput.
    pub completed: u64,
    /// Latency of every response due in this interval, microseconds from the due time.
    pub latencies_us: Vec<u32>,
}

/// A run's intervals, recorded by one connection task or merged.
#[derive(Debug, Clone)]
pub struct Intervals {
    pub width: Duration,
    pub buckets: Vec<IntervalStats>,
}

impl Intervals {
    pub fn new(width: Duration) -> Intervals {
        Intervals {
            width: width.max(Duration::from_millis(1)),
            buckets: Vec::new(),
        }
    }

    fn bucket(&mut self, at: Duration) -> &mut IntervalStats {
        let i = (at.as_nanos() / self.width.as_nanos()) as usize;
        if self.buckets.len() <= i {
            self.buckets.resize_with(i + 1, IntervalStats::default);
        }
        &mut self.buckets[i]
    }

    /// A response with `status`, due `due` into the run, completed `done` into the run.
    pub fn push_response(&mut self, status: u16, due: Duration, done: Duration) {
        let latency = done.saturating_sub(due).as_micros().min(u32::MAX as u128) as u32;
        let b = self.bucket(due);
        b.responses += 1;
        if status >= 500 {
            b.s5xx += 1;
        }
        b.latencies_us.push(latency.max(1));
        self.bucket(done).completed += 1;
    }

    /// A failed request that was due `due` into the run.
    pub fn push_error(&mut self, kind: ErrorKind, due: Duration) {
        let b = self.bucket(due);
        match kind {
            ErrorKind::Reset => b.reset += 1,
            ErrorKind::Timeout => b.timeout += 1,
            ErrorKind::Connect | ErrorKind::Other => b.other += 1,
        }
    }

    pub fn merge(&mut self, other: &Intervals) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets
                .resize_with(other.buckets.len(), IntervalStats::default);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.responses += theirs.responses;
            mine.s5xx += theirs.s5xx;
            mine.reset += theirs.reset;
            mine.timeout += theirs.timeout;
            mine.other += theirs.other;
            mine.completed += theirs.completed;
            mine.latencies_us.extend_from_slice(&theirs.latencies_us);
        }
    }

    /// The serialisable summary, one [`TimelinePoint`] per bucket (the swap result's timeline).
    pub fn summary(&self) -> Vec<TimelinePoint> {
        let width_ms = self.width.as_secs_f64() * 1000.0;
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut l = b.latencies_us.clone();
                l.sort_unstable();
                TimelinePoint {
                    t_ms: i as f64 * width_ms,
                    responses: b.responses,
                    s5xx: b.s5xx,
                    reset: b.reset,
                    timeout: b.timeout,
                    other: b.other,
                    completed_rps: b.completed as f64 * 1000.0 / width_ms,
                    p99_us: quantile(&l, 0.99),
                    max_us: l.last().copied().unwrap_or(0) as u64,
                }
            })
            .collect()
    }

    /// All latencies of the requests due in intervals `range` (indices), sorted.
    pub fn latencies_in(&self, range: std::ops::Range<usize>) -> Vec<u32> {
        let end = range.end.min(self.buckets.len());
        let start = range.start.min(end);
        let mut all: Vec<u32> = self.buckets[start..end]
            .iter()
            .flat_map(|b| b.latencies_us.iter().copied())
            .collect();
        all.sort_unstable();
        all
    }
}

/// The nearest-rank quantile of sorted values (0 when empty).
pub fn quantile(sorted: &[u32], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_due_time_and_merges() {
        let ms = Duration::from_millis;
        let mut a = Intervals::new(ms(100));
        let mut b = Intervals::new(ms(100));
        a.push_response(200, ms(10), ms(20));
        a.push_response(503, ms(90), ms(150));
        b.push_error(ErrorKind::Reset, ms(250));
        b.push_error(ErrorKind::Timeout, ms(120));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].responses, s[0].s5xx), (2, 1));
        assert_eq!(s[0].max_us, 60_000);
        assert_eq!(s[0].completed_rps, 10.0); // one completion in 100 ms
        assert_eq!(s[1].completed_rps, 10.0);
        assert_eq!((s[1].timeout, s[2].reset), (1, 1));
        assert_eq!(a.latencies_in(0..1), vec![10_000, 60_000]);
        assert!(a.latencies_in(1..3).is_empty());
        assert!(a.latencies_in(5..9).is_empty());
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&[], 0.99), 0);
    }
}
