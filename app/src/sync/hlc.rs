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

/// The largest counter the 6-digit encoding holds. Past it the clock moves its
/// physical part one millisecond on instead: a 7-digit counter would not decode
/// on a phone and would sort wrongly as a string.
pub const MAX_COUNTER: u32 = 999_999;

/// The largest physical part the 15-digit encoding holds (year 33658).
pub const MAX_MS: i64 = 999_999_999_999_999;

impl Hlc {
    pub fn new(ms: i64, counter: u32) -> Self {
        Self { ms, counter }
    }

    /// A new local event at physical time `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        if now_ms > self.ms {
            self.set(now_ms, 0);
        } else {
            self.set(self.ms, u64::from(self.counter) + 1);
        }
        *self
    }

    /// Merges a timestamp received from elsewhere (receive event).
    pub fn merge(&mut self, remote: Hlc, now_ms: i64) -> Hlc {
        let max_ms = now_ms.max(self.ms).max(remote.ms);
        let next = |c: u32| u64::from(c) + 1;
        let counter = if max_ms == self.ms && max_ms == remote.ms {
            next(self.counter.max(remote.counter))
        } else if max_ms == self.ms {
            next(self.counter)
        } else if max_ms == remote.ms {
            next(remote.counter)
        } else {
            0
        };
        self.set(max_ms, counter);
        *self
    }

    /// Stores `(ms, counter)` within the encodable range: a counter past
    /// `MAX_COUNTER` becomes the next millisecond with counter 0, which is
    /// still later than every stamp of `ms`. Remote stamps come from decoding,
    /// so their counters never exceed `MAX_COUNTER` and one carry is enough.
    fn set(&mut self, ms: i64, counter: u64) {
        let ms = ms.clamp(0, MAX_MS);
        if counter > u64::from(MAX_COUNTER) && ms < MAX_MS {
            self.ms = ms + 1;
            self.counter = 0;
        } else {
            self.ms = ms;
            // Only at the end of the encodable time, in 33658, may it saturate.
            self.counter = counter.min(u64::from(MAX_COUNTER)) as u32;
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{:015}-{:06}",
            self.ms.clamp(0, MAX_MS),
            self.counter.min(MAX_COUNTER)
        )
    }

    /// Exactly 15 digits, a dash, 6 digits: anything else (a sign, a wider
    /// counter) would break the rule that string order is time order.
    pub fn decode(s: &str) -> Option<Hlc> {
        let (ms, counter) = s.split_once('-')?;
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms, 15) || !digits(counter, 6) {
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
            .ok_or_else(|| serde::de::Error::custom("hlc must look like 001577000000000-000000"))
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
    fn a_remote_stamp_at_the_largest_counter_moves_the_clock_to_the_next_millisecond() {
        let mut server = Hlc::new(1_000, 3);
        let remote = Hlc::decode("000000000001000-999999").unwrap();
        let merged = server.merge(remote, 900);
        assert_eq!(merged, Hlc::new(1_001, 0));
        assert_eq!(merged.encode(), "000000000001001-000000");
        assert!(merged.encode() > remote.encode());
        assert_eq!(Hlc::decode(&merged.encode()), Some(merged));
        let next = server.tick(900);
        assert!(next > merged && next.encode() > merged.encode());
    }

    #[test]
    fn ticking_past_the_largest_counter_carries_into_the_milliseconds() {
        let mut h = Hlc::new(5_000, MAX_COUNTER);
        assert_eq!(h.tick(4_000), Hlc::new(5_001, 0));
    }

    #[test]
    fn signs_and_wide_counters_do_not_decode() {
        assert_eq!(Hlc::decode("000000000001000-1000000"), None);
        assert_eq!(Hlc::decode("+00000000001000-000001"), None);
        assert_eq!(Hlc::decode("000000000001000-+00001"), None);
        assert_eq!(Hlc::decode("000000000001000000001"), None);
    }

    #[test]
    fn merge_moves_past_the_remote_stamp() {
        let mut h = Hlc::new(1000, 0);
        let remote = Hlc::new(5000, 7);
        let merged = h.merge(remote, 2000);
        assert!(merged > remote);
        assert!(h.tick(2000) > merged);
    }

    // proptest runs natively; the wasm32 unit-test build has no proptest.
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn stamp() -> impl Strategy<Value = Hlc> {
            // Small ranges make equal milliseconds and full counters common.
            (
                prop_oneof![
                    0i64..5,
                    1_577_000_000_000i64..1_577_000_000_005,
                    Just(MAX_MS)
                ],
                prop_oneof![0u32..3, MAX_COUNTER - 2..=MAX_COUNTER],
            )
                .prop_map(|(ms, counter)| Hlc::new(ms, counter))
        }

        #[derive(Debug, Clone)]
        enum Event {
            Tick(i64),
            Merge(Hlc, i64),
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                (0i64..6).prop_map(Event::Tick),
                (1_577_000_000_000i64..1_577_000_000_006).prop_map(Event::Tick),
                (stamp(), 1_577_000_000_000i64..1_577_000_000_006)
                    .prop_map(|(h, now)| Event::Merge(h, now)),
            ]
        }

        proptest! {
            #[test]
            fn encode_then_decode_gives_the_same_stamp(h in stamp()) {
                let text = h.encode();
                prop_assert_eq!(text.len(), 22);
                prop_assert_eq!(Hlc::decode(&text), Some(h));
            }

            #[test]
            fn string_order_is_stamp_order(a in stamp(), b in stamp()) {
                prop_assert_eq!(a.cmp(&b), a.encode().cmp(&b.encode()));
            }

            #[test]
            fn every_event_moves_the_clock_forward_and_stays_encodable(
                start in stamp(),
                events in proptest::collection::vec(event(), 1..60),
            ) {
                let mut clock = start;
                let mut last = start;
                for e in events {
                    let next = match e {
                        Event::Tick(now) => clock.tick(now),
                        Event::Merge(remote, now) => {
                            let merged = clock.merge(remote, now);
                            // Receiving never goes backwards past what was received.
                            if remote.ms < MAX_MS || remote.counter < MAX_COUNTER {
                                prop_assert!(merged > remote, "{merged:?} <= {remote:?}");
                            }
                            merged
                        }
                    };
                    if last.ms < MAX_MS || last.counter < MAX_COUNTER {
                        prop_assert!(next > last, "{next:?} <= {last:?}");
                    }
                    prop_assert!(next.counter <= MAX_COUNTER);
                    prop_assert_eq!(Hlc::decode(&next.encode()), Some(next));
                    last = next;
                }
            }
        }
    }
}
