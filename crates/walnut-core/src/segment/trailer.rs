//! The seal: written when a segment is full, so that opening the log reads a
//! segment's index instead of scanning its frames.
//!
//! A sealed segment holds, after its last frame, an *index block* (one u32
//! frame offset per entry, little-endian) and, in its last 64 bytes, the
//! *trailer*:
//!
//! ```text
//! offset size field
//!  0     8    magic "WALNUTSL"
//!  8     8    salt (equal to the header's)
//! 16     8    first index
//! 24     8    entry count
//! 32     8    end of frames = start of the index block
//! 40     4    CRC32C of the index block
//! 44     4    zero
//! 48     8    seal time, Unix milliseconds
//! 56     4    zero
//! 60     4    CRC32C of bytes 0..60
//! ```
//!
//! The frames and the index block are made durable before the trailer is
//! written, and the trailer before any later segment is synced, so a valid
//! trailer proves the whole segment durable.

use crate::crc::crc32c;

/// Bytes of the trailer at the end of the file.
pub const TRAILER_LEN: usize = 64;
const MAGIC: &[u8; 8] = b"WALNUTSL";

/// The decoded trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Salt of the segment.
    pub salt: u64,
    /// First index.
    pub first_index: u64,
    /// Number of entries.
    pub count: u64,
    /// Offset where frames end and the index block starts.
    pub frames_end: u64,
    /// CRC32C of the index block.
    pub index_crc: u32,
    /// Seal time, Unix milliseconds.
    pub sealed_ms: u64,
}

impl Trailer {
    /// Encodes the trailer with its checksum.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&self.salt.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_index.to_le_bytes());
        b[24..32].copy_from_slice(&self.count.to_le_bytes());
        b[32..40].copy_from_slice(&self.frames_end.to_le_bytes());
        b[40..44].copy_from_slice(&self.index_crc.to_le_bytes());
        b[48..56].copy_from_slice(&self.sealed_ms.to_le_bytes());
        let crc = crc32c(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a trailer; `None` if the bytes are not a valid trailer.
    pub fn decode(b: &[u8]) -> Option<Trailer> {
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        if b.len() < TRAILER_LEN
            || &b[0..8] != MAGIC
            || crc32c(&b[0..60]) != u32_at(60)
            || u32_at(44) != 0
            || u32_at(56) != 0
        {
            return None;
        }
        Some(Trailer {
            salt: u64_at(8),
            first_index: u64_at(16),
            count: u64_at(24),
            frames_end: u64_at(32),
            index_crc: u32_at(40),
            sealed_ms: u64_at(48),
        })
    }
}

/// Encodes offsets as an index block.
pub fn encode_index(offsets: impl Iterator<Item = u32>, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 4);
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_round_trips_and_any_flipped_bit_is_rejected() {
        let t = Trailer {
            salt: 9,
            first_index: 1,
            count: 3,
            frames_end: 4096,
            index_crc: 5,
            sealed_ms: 6,
        };
        let raw = t.encode();
        assert_eq!(Trailer::decode(&raw), Some(t));
        for bit in 0..TRAILER_LEN * 8 {
            let mut bad = raw;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Trailer::decode(&bad), None, "bit {bit} undetected");
        }
    }
}
