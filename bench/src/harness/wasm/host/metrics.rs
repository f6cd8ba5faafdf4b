//! Metrics: `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`,
//! `proxy_get_metric`, with Envoy's ids and rules.

use std::collections::HashMap;

use wasmtime::Caller;

use super::super::abi::{MetricKind, Status};
use super::super::memory;
use super::{ok, Host, R};

/// One metric (`proxy_define_metric`); Envoy shows it as `wasmcustom.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub kind: MetricKind,
    pub name: String,
    /// Counter or gauge value; for a histogram, the number of recorded values.
    pub value: i64,
    /// Recorded histogram values.
    pub samples: Vec<u64>,
}

/// The metrics of one VM. Ids follow Envoy: the low 2 bits are the type, ids step by 4; defining
/// a name twice gives a new id for the same metric.
#[derive(Debug, Default)]
pub struct Metrics {
    pub list: Vec<Metric>,
    by_name: HashMap<(MetricKind, String), usize>,
    by_id: HashMap<u32, usize>,
    next: [u32; 3],
}

impl Metrics {
    pub fn define(&mut self, kind: MetricKind, name: String) -> u32 {
        let idx = match self.by_name.get(&(kind, name.clone())) {
            Some(&idx) => idx,
            None => {
                self.list.push(Metric {
                    kind,
                    name: name.clone(),
                    value: 0,
                    samples: Vec::new(),
                });
                self.by_name.insert((kind, name), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let slot = kind as usize;
        let id = self.next[slot] * 4 + kind as u32;
        self.next[slot] += 1;
        self.by_id.insert(id, idx);
        id
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Metric> {
        let idx = *self.by_id.get(&id)?;
        self.list.get_mut(idx)
    }

    /// `proxy_increment_metric`: a counter only goes up (Envoy); a histogram cannot be
    /// incremented.
    pub fn increment(&mut self, id: u32, offset: i64) -> Status {
        let Some(m) = self.get_mut(id) else {
            return Status::NotFound;
        };
        match m.kind {
            MetricKind::Counter if offset > 0 => m.value = m.value.saturating_add(offset),
            MetricKind::Counter => return Status::BadArgument,
            MetricKind::Gauge => m.value = m.value.saturating_add(offset),
            MetricKind::Histogram => return Status::BadArgument,
        }
        Status::Ok
    }

    /// `proxy_record_metric`: Envoy adds the value to a counter, sets a gauge, records a
    /// histogram value.
    pub fn record(&mut self, id: u32, value: u64) -> Status {
        let Some(m) = self.get_mut(id) else {
            return Status::NotFound;
        };
        match m.kind {
            MetricKind::Counter => {
                m.value = m.value.saturating_add(value.min(i64::MAX as u64) as i64)
            }
            MetricKind::Gauge => m.value = value.min(i64::MAX as u64) as i64,
            MetricKind::Histogram => {
                m.samples.push(value);
                m.value += 1;
            }
        }
        Status::Ok
    }

    /// `proxy_get_metric`: a counter's or gauge's value (a histogram has none).
    pub fn value(&mut self, id: u32) -> Result<u64, Status> {
        let m = self.get_mut(id).ok_or(Status::NotFound)?;
        if m.kind == MetricKind::Histogram {
            return Err(Status::BadArgument);
        }
        Ok(m.value as u64)
    }
}

/// What one metric costs the host besides its name.
const METRIC_BYTES: usize = 64;

pub(super) fn proxy_define_metric(
    mut caller: Caller<'_, Host>,
    metric_type: u32,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(kind) = MetricKind::from_u32(metric_type) else {
        return ok(Status::BadArgument);
    };
    let name = String::from_utf8_lossy(tri!(memory::read(data, name_ptr, name_size))).into_owned();
    host.charge(name.len() + METRIC_BYTES, "metric definitions")?;
    tri!(memory::check(data, id_ptr, 4));
    let id = host.metrics.define(kind, name);
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

pub(super) fn proxy_increment_metric(mut caller: Caller<'_, Host>, id: u32, offset: i64) -> R {
    ok(caller.data_mut().metrics.increment(id, offset))
}

pub(super) fn proxy_record_metric(mut caller: Caller<'_, Host>, id: u32, value: u64) -> R {
    let host = caller.data_mut();
    // A histogram keeps every sample.
    host.charge(std::mem::size_of::<u64>(), "metric samples")?;
    ok(host.metrics.record(id, value))
}

pub(super) fn proxy_get_metric(mut caller: Caller<'_, Host>, id: u32, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let value = match host.metrics.value(id) {
        Ok(v) => v,
        Err(status) => return ok(status),
    };
    tri!(memory::write_u64(data, ret, value));
    ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_ids_follow_envoy() {
        let mut m = Metrics::default();
        let c0 = m.define(MetricKind::Counter, "a".into());
        let g0 = m.define(MetricKind::Gauge, "a".into());
        let c1 = m.define(MetricKind::Counter, "a".into());
        assert_eq!((c0, g0, c1), (0, 1, 4));
        m.get_mut(c0).unwrap().value += 2;
        assert_eq!(m.get_mut(c1).unwrap().value, 2, "same name, same counter");
        assert_eq!(m.list.len(), 2);
        assert!(m.get_mut(8).is_none());
    }

    #[test]
    fn metric_updates_follow_envoy() {
        let mut m = Metrics::default();
        let c = m.define(MetricKind::Counter, "c".into());
        let g = m.define(MetricKind::Gauge, "g".into());
        let h = m.define(MetricKind::Histogram, "h".into());
        assert_eq!(m.increment(c, 2), Status::Ok);
        assert_eq!(
            m.increment(c, -1),
            Status::BadArgument,
            "a counter only goes up"
        );
        assert_eq!(m.record(c, 3), Status::Ok, "recorded into a counter: added");
        assert_eq!(m.value(c), Ok(5));
        assert_eq!(m.increment(g, -4), Status::Ok);
        assert_eq!(m.record(g, 9), Status::Ok);
        assert_eq!(m.value(g), Ok(9));
        assert_eq!(m.increment(h, 1), Status::BadArgument);
        assert_eq!(m.record(h, 42), Status::Ok);
        assert_eq!(m.value(h), Err(Status::BadArgument));
        assert_eq!(m.increment(99, 1), Status::NotFound);
        assert_eq!(m.value(99), Err(Status::NotFound));
    }
}
