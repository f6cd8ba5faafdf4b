//! Header maps with Envoy's semantics, and the proxy-wasm serialisation of key/value pairs.
//!
//! Envoy's `HeaderMapImpl` as the host functions see it: keys are lower-cased on every
//! operation (`LowerCaseString`); a lookup returns the FIRST value of a repeated header;
//! "replace" removes every value and appends the new one (`setCopy` with
//! `http_set_copy_replace_all_headers`, the default); pseudo-headers are inserted after the
//! existing pseudo-headers, other headers at the end.
//!
//! Serialised pairs (spec "Serialization"): u32 count, then per pair u32 key length and u32
//! value length, then per pair the key bytes, NUL, the value bytes, NUL; little-endian.

use crate::harness::envoy::{PairSlot, PairView};
use filterbench_model::corpus::HeaderPair;

/// A header name or value: text (what clients and the Envoy model produce, lent to the model
/// without copying) or raw bytes (a guest may set any bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    Raw(Vec<u8>),
}

impl Field {
    fn from_bytes(bytes: &[u8]) -> Field {
        match std::str::from_utf8(bytes) {
            Ok(s) => Field::Text(s.to_owned()),
            Err(_) => Field::Raw(bytes.to_vec()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Field::Text(s) => s.as_bytes(),
            Field::Raw(b) => b,
        }
    }

    fn lossy(&self) -> String {
        match self {
            Field::Text(s) => s.clone(),
            Field::Raw(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// An entry lent by [`HeaderMap::with_entries`] is all text (raw bytes read as empty, which
/// `with_entries` never lends).
impl PairView for (Field, Field) {
    #[inline]
    fn name(&self) -> &str {
        match &self.0 {
            Field::Text(s) => s,
            Field::Raw(_) => "",
        }
    }
    #[inline]
    fn value(&self) -> &str {
        match &self.1 {
            Field::Text(s) => s,
            Field::Raw(_) => "",
        }
    }
}

/// Refilling writes the entries in place: raw bytes become an empty text to overwrite.
impl PairSlot for (Field, Field) {
    #[inline]
    fn empty() -> Self {
        (Field::Text(String::new()), Field::Text(String::new()))
    }
    #[inline]
    fn strings(&mut self) -> (&mut String, &mut String) {
        if let Field::Raw(_) = self.0 {
            self.0 = Field::Text(String::new());
        }
        if let Field::Raw(_) = self.1 {
            self.1 = Field::Text(String::new());
        }
        match (&mut self.0, &mut self.1) {
            (Field::Text(n), Field::Text(v)) => (n, v),
            _ => unreachable!("both made text above"),
        }
    }
}

/// One header map (request/response headers, an http call's response headers).
#[derive(Debug, Clone, Default)]
pub struct HeaderMap {
    entries: Vec<(Field, Field)>,
    /// Cleared entries, kept for `refill` to overwrite.
    spare: Vec<(Field, Field)>,
}

/// Spare strings a map keeps at most.
const SPARE: usize = 64;

impl PartialEq for HeaderMap {
    fn eq(&self, other: &HeaderMap) -> bool {
        self.entries == other.entries
    }
}

impl Eq for HeaderMap {}

fn lower(key: &[u8]) -> Field {
    match String::from_utf8(key.to_ascii_lowercase()) {
        Ok(s) => Field::Text(s),
        Err(e) => Field::Raw(e.into_bytes()),
    }
}

fn is_pseudo(key: &Field) -> bool {
    key.as_bytes().first() == Some(&b':')
}

impl HeaderMap {
    pub fn new() -> HeaderMap {
        HeaderMap::default()
    }

    /// From `(name, value)` strings, names lower-cased (the strings are moved, not copied).
    pub fn from_pairs(pairs: Vec<HeaderPair>) -> HeaderMap {
        let mut map = HeaderMap::default();
        map.set_from_pairs(pairs);
        map
    }

    /// Replaces the content with `pairs`, reusing this map's allocation.
    pub fn set_from_pairs(&mut self, pairs: Vec<HeaderPair>) {
        self.entries.clear();
        self.entries.reserve(pairs.len() + 2);
        for (mut name, value) in pairs {
            name.make_ascii_lowercase();
            self.entries.push((Field::Text(name), Field::Text(value)));
        }
    }

    /// Replaces the content with what `fill` writes into the list of entries (names are
    /// lower-cased after), handing it this map's own entries (and the spare ones) to overwrite in
    /// place, so that refilling a map with headers of similar sizes allocates and moves nothing.
    /// `fill` overwrites the list from its start and cuts it to what it wrote (as
    /// [`crate::harness::envoy`]'s fill functions do).
    pub fn refill(&mut self, fill: impl FnOnce(&mut Vec<(Field, Field)>)) {
        if self.entries.is_empty() {
            std::mem::swap(&mut self.entries, &mut self.spare);
        } else {
            self.entries.append(&mut self.spare);
        }
        fill(&mut self.entries);
        for (k, _) in &mut self.entries {
            match k {
                Field::Text(k) => k.make_ascii_lowercase(),
                Field::Raw(k) => k.make_ascii_lowercase(),
            }
        }
    }

    /// Empties the map (its entries are kept, up to [`SPARE`], for a later `refill`).
    pub fn clear(&mut self) {
        if self.spare.is_empty() {
            std::mem::swap(&mut self.entries, &mut self.spare);
            self.spare.truncate(SPARE);
        } else {
            let room = SPARE.saturating_sub(self.spare.len());
            self.spare.extend(self.entries.drain(..).take(room));
        }
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
    }

    /// The first value of `key` (compared lower-cased), as Envoy's `get_header_map_value`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Every value of `key`, joined with "," (what CEL's `request.headers[key]` gives).
    pub fn joined(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for (_, v) in self.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)) {
            match &mut out {
                None => out = Some(v.to_vec()),
                Some(o) => {
                    o.push(b',');
                    o.extend_from_slice(v);
                }
            }
        }
        out
    }

    /// Appends a value (`addCopy`).
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let key = lower(key);
        let value = Field::from_bytes(value);
        if is_pseudo(&key) {
            let at = self
                .entries
                .iter()
                .position(|(k, _)| !is_pseudo(k))
                .unwrap_or(self.entries.len());
            self.entries.insert(at, (key, value));
        } else {
            self.entries.push((key, value));
        }
    }

    /// Removes every value of `key`, then appends `value` (`setCopy`).
    pub fn replace(&mut self, key: &[u8], value: &[u8]) {
        self.remove(key);
        self.add(key, value);
    }

    /// Removes every value of `key`.
    pub fn remove(&mut self, key: &[u8]) {
        self.entries
            .retain(|(k, _)| !k.as_bytes().eq_ignore_ascii_case(key));
    }

    /// Replaces the whole map (`proxy_set_header_map_pairs`).
    pub fn set_all(&mut self, pairs: &[(&[u8], &[u8])]) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(k, v);
        }
    }

    /// Envoy's `byteSize()`: the sum of key and value lengths.
    pub fn byte_size(&self) -> usize {
        self.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// The length of the serialised map (0 for an empty map).
    pub fn serialized_len(&self) -> usize {
        serialized_len(self.iter())
    }

    /// Serialises into `out`, which must be exactly `serialized_len()` bytes.
    pub fn serialize_into(&self, out: &mut [u8]) {
        serialize_into(self.iter(), out)
    }

    /// Lends the headers as strings to `f` (a copy; non-UTF-8 bytes shown lossily). Tests only:
    /// the host lends its entries with [`HeaderMap::with_entries`].
    #[cfg(test)]
    pub fn with_pairs<R>(&mut self, f: impl FnOnce(&[HeaderPair]) -> R) -> R {
        f(&self.to_pairs())
    }

    /// Lends the entries to `f` as they are (for the Envoy model, which reads them through
    /// [`PairView`]): no string moves. A map holding non-UTF-8 bytes is lent as a lossy copy,
    /// as [`HeaderMap::with_pairs`] does.
    pub fn with_entries<R>(&self, f: impl FnOnce(&[(Field, Field)]) -> R) -> R {
        let all_text = self
            .entries
            .iter()
            .all(|(k, v)| matches!((k, v), (Field::Text(_), Field::Text(_))));
        if all_text {
            return f(&self.entries);
        }
        let lossy: Vec<(Field, Field)> = self
            .entries
            .iter()
            .map(|(k, v)| (Field::Text(k.lossy()), Field::Text(v.lossy())))
            .collect();
        f(&lossy)
    }

    /// The headers as strings (invalid UTF-8 shown lossily), for the Envoy model.
    pub fn to_pairs(&self) -> Vec<HeaderPair> {
        self.entries
            .iter()
            .map(|(k, v)| (k.lossy(), v.lossy()))
            .collect()
    }
}

/// The serialised length of `pairs` (0 for no pairs: the empty map is returned as nothing).
pub fn serialized_len<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> usize {
    let mut n = 0usize;
    let mut size = 4usize;
    for (k, v) in pairs {
        n += 1;
        size += 8 + k.len() + v.len() + 2;
    }
    if n == 0 {
        0
    } else {
        size
    }
}

/// Serialises `pairs` into `out` (exactly `serialized_len` bytes; nothing for no pairs).
pub fn serialize_into<'a>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
    out: &mut [u8],
) {
    let count = pairs.clone().count();
    if count == 0 {
        return;
    }
    out[0..4].copy_from_slice(&(count as u32).to_le_bytes());
    let mut lens = 4;
    let mut data = 4 + 8 * count;
    for (k, v) in pairs {
        out[lens..lens + 4].copy_from_slice(&(k.len() as u32).to_le_bytes());
        out[lens + 4..lens + 8].copy_from_slice(&(v.len() as u32).to_le_bytes());
        lens += 8;
        out[data..data + k.len()].copy_from_slice(k);
        data += k.len();
        out[data] = 0;
        data += 1;
        out[data..data + v.len()].copy_from_slice(v);
        data += v.len();
        out[data] = 0;
        data += 1;
    }
}

/// Serialises `pairs` into a new vector.
#[cfg(test)]
pub fn serialize(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let it = pairs.iter().map(|(k, v)| (*k, *v));
    let mut out = vec![0u8; serialized_len(it.clone())];
    serialize_into(it, &mut out);
    out
}

/// Parsed pairs, borrowing from the serialisation.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// The serialisation is malformed (truncated, lengths that overrun, a missing NUL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Parses serialised pairs, bounds-checked. An empty input, or fewer than 4 bytes that are all
/// zero (the spec allows a single `0x00`), is the empty map.
pub fn parse(bytes: &[u8]) -> Result<Pairs<'_>, Malformed> {
    if bytes.len() < 4 {
        return if bytes.iter().all(|&b| b == 0) {
            Ok(Vec::new())
        } else {
            Err(Malformed)
        };
    }
    let word = |at: usize| -> Result<usize, Malformed> {
        let b = bytes.get(at..at + 4).ok_or(Malformed)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    let header_end = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .ok_or(Malformed)?;
    if header_end > bytes.len() {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(count);
    let mut data = header_end;
    let mut take = |len: usize| -> Result<&[u8], Malformed> {
        let end = data.checked_add(len).ok_or(Malformed)?;
        if end >= bytes.len() || bytes[end] != 0 {
            return Err(Malformed);
        }
        let s = &bytes[data..end];
        data = end + 1;
        Ok(s)
    };
    for i in 0..count {
        let klen = word(4 + 8 * i)?;
        let vlen = word(8 + 8 * i)?;
        let k = take(klen)?;
        let v = take(vlen)?;
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<HeaderPair> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn serialisation_matches_the_spec_example_and_round_trips() {
        let map: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"b", b"22")];
        let bytes = serialize(&map);
        let expected: Vec<u8> = [
            &[2u8, 0, 0, 0][..],
            &[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0],
            b"a\x001\x00b\x0022\x00",
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(parse(&bytes), Ok(map));

        let h = HeaderMap::from_pairs(pairs(&[(":path", "/"), ("X-A", ""), ("x-a", "é\0x")]));
        let mut out = vec![0u8; h.serialized_len()];
        h.serialize_into(&mut out);
        let back = parse(&out).unwrap();
        let want: Vec<(&[u8], &[u8])> =
            vec![(b":path", b"/"), (b"x-a", b""), (b"x-a", "é\0x".as_bytes())];
        assert_eq!(back, want);
    }

    #[test]
    fn values_with_nul_bytes_do_not_confuse_the_parser() {
        let map: Vec<(&[u8], &[u8])> = vec![(b"k", b"a\0b"), (b"", b"")];
        assert_eq!(parse(&serialize(&map)), Ok(map));
    }

    #[test]
    fn empty_and_malformed_inputs() {
        assert_eq!(serialize(&[]), Vec::<u8>::new());
        assert_eq!(parse(&[]), Ok(vec![]));
        assert_eq!(parse(&[0]), Ok(vec![]));
        assert_eq!(parse(&[0, 0, 0, 0]), Ok(vec![]));
        assert_eq!(parse(&[1]), Err(Malformed));
        // Count says 1 pair but no lengths follow.
        assert_eq!(parse(&[1, 0, 0, 0]), Err(Malformed));
        // A huge count must not allocate or overflow.
        assert_eq!(parse(&[0xff, 0xff, 0xff, 0xff]), Err(Malformed));
        // Lengths that overrun the data.
        let mut bad = serialize(&[(b"ab", b"cd")]);
        bad[4] = 200;
        assert_eq!(parse(&bad), Err(Malformed));
        // A missing NUL terminator.
        let mut bad = serialize(&[(b"ab", b"cd")]);
        let last = bad.len() - 1;
        bad[last] = b'x';
        assert_eq!(parse(&bad), Err(Malformed));
        // Truncated.
        let good = serialize(&[(b"ab", b"cd")]);
        for cut in 1..good.len() {
            assert_eq!(parse(&good[..cut]), Err(Malformed), "cut at {cut}");
        }
    }

    #[test]
    fn envoy_header_map_semantics() {
        let mut h = HeaderMap::from_pairs(pairs(&[
            (":authority", "a"),
            (":path", "/"),
            ("X-Dup", "1"),
            ("x-dup", "2"),
        ]));
        assert_eq!(h.get(b"X-DUP"), Some(&b"1"[..]), "first value only");
        assert_eq!(h.joined(b"x-dup"), Some(b"1,2".to_vec()));
        assert_eq!(h.get(b"missing"), None);
        h.add(b":Method", b"GET");
        assert_eq!(
            h.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            vec![&b":authority"[..], b":path", b":method", b"x-dup", b"x-dup"]
        );
        h.replace(b"X-Dup", b"3");
        assert_eq!(h.joined(b"x-dup"), Some(b"3".to_vec()));
        h.add(b"x-dup", b"4");
        h.remove(b"X-DUP");
        assert_eq!(h.get(b"x-dup"), None);
        assert_eq!(
            h.byte_size(),
            ":authority".len() + 1 + ":path".len() + 1 + ":method".len() + 3
        );
        h.set_all(&[(b"B", b"2"), (b":status", b"200")]);
        assert_eq!(h.to_pairs(), pairs(&[(":status", "200"), ("b", "2")]));
    }

    #[test]
    fn raw_bytes_survive_and_are_lent_lossily() {
        let mut h = HeaderMap::from_pairs(pairs(&[("a", "1")]));
        h.add(b"X-Raw", b"\xff\x00z");
        assert_eq!(h.get(b"x-raw"), Some(&b"\xff\x00z"[..]));
        let lent = h.with_pairs(|p| p.to_vec());
        assert_eq!(lent, pairs(&[("a", "1"), ("x-raw", "\u{fffd}\u{0}z")]));
        assert_eq!(h.get(b"x-raw"), Some(&b"\xff\x00z"[..]));

        let mut t = HeaderMap::from_pairs(pairs(&[("A", "é")]));
        assert_eq!(t.with_pairs(|p| p.to_vec()), pairs(&[("a", "é")]));
        assert_eq!(t.with_pairs(|p| p.len()), 1, "lent twice, still there");
        assert_eq!(t.get(b"a"), Some("é".as_bytes()));
    }
}
