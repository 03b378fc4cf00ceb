//! Hybrid logical clock. Physical part in ms since the epoch (the phone's
//! `Date.now()`, never `SystemTime` on wasm32), logical counter for ties.
//! Serialised as a fixed-width string so that string order is time order, in
//! SQL and in IndexedDB alike.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc {
    pub ms: i64,
    pub counter: u32,
}

/// How far ahead of the server a phone's stamp may be before the server
/// re-stamps it: a wrong clock must not win every conflict.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;

impl Hlc {
    pub fn new(ms: i64, counter: u32) -> Self {
        Self { ms, counter }
    }

    /// A new local event at physical time `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        if now_ms > self.ms {
            self.ms = now_ms;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        *self
    }

    /// Merges a timestamp received from elsewhere (receive event).
    pub fn merge(&mut self, remote: Hlc, now_ms: i64) -> Hlc {
        let max_ms = now_ms.max(self.ms).max(remote.ms);
        self.counter = if max_ms == self.ms && max_ms == remote.ms {
            self.counter.max(remote.counter) + 1
        } else if max_ms == self.ms {
            self.counter + 1
        } else if max_ms == remote.ms {
            remote.counter + 1
        } else {
            0
        };
        self.ms = max_ms;
        *self
    }

    pub fn encode(&self) -> String {
        format!("{:015}-{:06}", self.ms.max(0), self.counter)
    }

    pub fn decode(s: &str) -> Option<Hlc> {
        let (ms, counter) = s.split_once('-')?;
        if ms.len() != 15 || counter.len() != 6 {
            return None;
        }
        Some(Hlc {
            ms: ms.parse().ok()?,
            counter: counter.parse().ok()?,
        })
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

#[cfg(feature = "ssr")]
impl schemars::JsonSchema for Hlc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hlc".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{15}-[0-9]{6}$",
            "description": "Hybrid logical clock: milliseconds since the epoch (15 digits), a dash, a counter (6 digits)"
        })
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hlc::decode(&s)
            .ok_or_else(|| serde::de::Error::custom("hlc must look like 000001577000000000-000000"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_preserves_order() {
        let a = Hlc::new(1_577_000_000_000, 2);
        let b = Hlc::new(1_577_000_000_000, 10);
        let c = Hlc::new(1_577_000_000_001, 0);
        assert!(a.encode() < b.encode() && b.encode() < c.encode());
        assert_eq!(Hlc::decode(&b.encode()), Some(b));
    }

    #[test]
    fn tick_is_monotonic_even_when_the_clock_goes_back() {
        let mut h = Hlc::default();
        let t1 = h.tick(1000);
        let t2 = h.tick(900);
        let t3 = h.tick(900);
        assert!(t1 < t2 && t2 < t3);
    }

    #[test]
    fn merge_moves_past_the_remote_stamp() {
        let mut h = Hlc::new(1000, 0);
        let remote = Hlc::new(5000, 7);
        let merged = h.merge(remote, 2000);
        assert!(merged > remote);
        assert!(h.tick(2000) > merged);
    }
}
