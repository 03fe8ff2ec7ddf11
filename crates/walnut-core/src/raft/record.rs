//! The Raft metadata record: everything a Raft node keeps besides the entry
//! payloads, in one value that `raft-meta` (a [`MetaStore`](crate::meta::MetaStore))
//! replaces crash-atomically. Writing that record is the commit point of every
//! Raft update.
//!
//! ```text
//! u32  version (1)
//! u64  hard state: term, vote, commit
//! cs   conf state (below)
//! u64  prev index, prev term   entry just before the first index (compaction point)
//! u64  last index, last term   end of the committed log
//! u8   snapshot present (0/1); if 1:
//!        u64 index, u64 term, cs conf state,
//!        u64 file id, u64 data length, u32 data CRC32C
//! u32  meta count; each: u16 name length, name (UTF-8), u64 value
//!
//! cs = 4 x (u32 count, count x u64 id): voters, learners, voters outgoing,
//!      learners next; then u8 auto leave (0/1)
//! ```
//!
//! All integers little-endian. Decoding is strict: a value that does not end
//! exactly where the record ends is rejected.

use super::types::{ConfState, HardState, SnapshotMeta};
use std::collections::BTreeMap;

const VERSION: u32 = 1;

/// Where the stored snapshot image is and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotRef {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// Number in the data file's name (`raft-snap-<id>`).
    pub file_id: u64,
    /// Length of the image.
    pub len: u64,
    /// CRC32C of the image.
    pub crc: u32,
}

/// The whole committed Raft state except entry payloads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaftRecord {
    /// Term, vote, commit.
    pub hard_state: HardState,
    /// Current membership.
    pub conf_state: ConfState,
    /// Index of the entry just before the first one held (0 for a new log).
    pub prev_index: u64,
    /// Term of that entry, so `term(first_index - 1)` answers after compaction.
    pub prev_term: u64,
    /// Last index of the committed log (`prev_index` when empty).
    pub last_index: u64,
    /// Term of the last entry (`prev_term` when empty).
    pub last_term: u64,
    /// The stored snapshot, if any.
    pub snapshot: Option<SnapshotRef>,
    /// Application integers kept with the hard state.
    pub meta: BTreeMap<String, u64>,
}

impl RaftRecord {
    /// Serialises the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(256);
        put_u32(&mut w, VERSION);
        put_u64(&mut w, self.hard_state.term);
        put_u64(&mut w, self.hard_state.vote);
        put_u64(&mut w, self.hard_state.commit);
        put_conf(&mut w, &self.conf_state);
        for v in [
            self.prev_index,
            self.prev_term,
            self.last_index,
            self.last_term,
        ] {
            put_u64(&mut w, v);
        }
        match &self.snapshot {
            None => w.push(0),
            Some(s) => {
                w.push(1);
                put_u64(&mut w, s.meta.index);
                put_u64(&mut w, s.meta.term);
                put_conf(&mut w, &s.meta.conf_state);
                put_u64(&mut w, s.file_id);
                put_u64(&mut w, s.len);
                put_u32(&mut w, s.crc);
            }
        }
        put_u32(&mut w, self.meta.len() as u32);
        for (k, v) in &self.meta {
            w.extend_from_slice(&(k.len() as u16).to_le_bytes());
            w.extend_from_slice(k.as_bytes());
            put_u64(&mut w, *v);
        }
        w
    }

    /// Parses bytes written by [`RaftRecord::encode`]; `None` if they are not
    /// exactly one well-formed record.
    pub fn decode(b: &[u8]) -> Option<RaftRecord> {
        let mut r = Reader { b, at: 0 };
        if r.u32()? != VERSION {
            return None;
        }
        let hard_state = HardState {
            term: r.u64()?,
            vote: r.u64()?,
            commit: r.u64()?,
        };
        let conf_state = r.conf()?;
        let (prev_index, prev_term, last_index, last_term) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let snapshot = match r.u8()? {
            0 => None,
            1 => Some(SnapshotRef {
                meta: SnapshotMeta {
                    index: r.u64()?,
                    term: r.u64()?,
                    conf_state: r.conf()?,
                },
                file_id: r.u64()?,
                len: r.u64()?,
                crc: r.u32()?,
            }),
            _ => return None,
        };
        let mut meta = BTreeMap::new();
        for _ in 0..r.u32()? {
            let len = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
            let name = std::str::from_utf8(r.take(len)?).ok()?.to_string();
            meta.insert(name, r.u64()?);
        }
        (r.at == b.len() && last_index >= prev_index).then_some(RaftRecord {
            hard_state,
            conf_state,
            prev_index,
            prev_term,
            last_index,
            last_term,
            snapshot,
            meta,
        })
    }

    /// First index held by the log.
    pub fn first_index(&self) -> u64 {
        self.prev_index + 1
    }
}

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_conf(w: &mut Vec<u8>, c: &ConfState) {
    for ids in [&c.voters, &c.learners, &c.voters_outgoing, &c.learners_next] {
        put_u32(w, ids.len() as u32);
        for id in ids {
            put_u64(w, *id);
        }
    }
    w.push(c.auto_leave as u8);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn ids(&mut self) -> Option<Vec<u64>> {
        let n = self.u32()? as usize;
        // Bound the count by the bytes left before allocating.
        if n > (self.b.len() - self.at) / 8 {
            return None;
        }
        (0..n).map(|_| self.u64()).collect()
    }
    fn conf(&mut self) -> Option<ConfState> {
        Some(ConfState {
            voters: self.ids()?,
            learners: self.ids()?,
            voters_outgoing: self.ids()?,
            learners_next: self.ids()?,
            auto_leave: match self.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> RaftRecord {
        let cs = ConfState {
            voters: vec![1, 2, 3],
            learners: vec![4],
            voters_outgoing: vec![1, 2],
            learners_next: vec![5],
            auto_leave: true,
        };
        RaftRecord {
            hard_state: HardState {
                term: 7,
                vote: 2,
                commit: 41,
            },
            conf_state: cs.clone(),
            prev_index: 10,
            prev_term: 3,
            last_index: 44,
            last_term: 7,
            snapshot: Some(SnapshotRef {
                meta: SnapshotMeta {
                    index: 10,
                    term: 3,
                    conf_state: cs,
                },
                file_id: 9,
                len: 1234,
                crc: 0xdead_beef,
            }),
            meta: [("raftId".to_string(), 3), ("groupId".to_string(), 1 << 52)]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_record_survives_a_round_trip() {
        let r = full();
        assert_eq!(RaftRecord::decode(&r.encode()), Some(r));
        let empty = RaftRecord::default();
        assert_eq!(RaftRecord::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_rejected() {
        let bytes = full().encode();
        for n in 0..bytes.len() {
            assert_eq!(RaftRecord::decode(&bytes[..n]), None, "prefix of {n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(RaftRecord::decode(&longer), None);
    }

    #[test]
    fn a_huge_id_count_is_refused_before_allocating() {
        let mut bytes = RaftRecord::default().encode();
        // The voters count sits right after version and hard state.
        bytes[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(RaftRecord::decode(&bytes), None);
    }
}
