//! The segment header: 64 bytes at offset 0 of every segment file, and an
//! identical copy at offset 512 (the next disk sector), so that damage to one
//! sector never hides the salt needed to validate the segment's frames.
//! Frames start at offset 576; the bytes in between are zero.
//!
//! ```text
//! offset size field
//!  0     8    magic "WALNUTSG"
//!  8     4    format version (1)
//! 12     4    header length (64)
//! 16     8    first index (must match the file name)
//! 24     8    salt: random, nonzero; seeds every frame CRC in the segment
//! 32     8    creation time, Unix milliseconds
//! 40     8    application marker (0: none)
//! 48     4    encryption key id of the segment's entries (0: none)
//! 52     8    zero
//! 60     4    CRC32C of bytes 0..60
//! ```

use crate::crc::crc32c;
use crate::frame::ALIGN;

/// Bytes of one header copy.
pub const HEADER_LEN: usize = 64;
/// Offset of the second copy.
pub const COPY_AT: usize = 512;
/// Offset of the first frame.
pub const FRAMES_START: usize = COPY_AT + HEADER_LEN;
const MAGIC: &[u8; 8] = b"WALNUTSG";
/// Version written by this build.
pub const VERSION: u32 = 1;
const _: () = assert!(FRAMES_START.is_multiple_of(ALIGN));

/// The decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Index of the first record the segment holds (or will hold).
    pub first_index: u64,
    /// Random per-segment salt.
    pub salt: u64,
    /// Creation time, Unix milliseconds.
    pub created_ms: u64,
    /// Application marker.
    pub marker: u64,
    /// Id of the key that encrypts this segment's entries (0: not encrypted).
    pub key_id: u32,
}

impl SegmentHeader {
    /// Encodes the header with its checksum.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.first_index.to_le_bytes());
        b[24..32].copy_from_slice(&self.salt.to_le_bytes());
        b[32..40].copy_from_slice(&self.created_ms.to_le_bytes());
        b[40..48].copy_from_slice(&self.marker.to_le_bytes());
        b[48..52].copy_from_slice(&self.key_id.to_le_bytes());
        let crc = crc32c(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and validates a header; the error says what is wrong.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, &'static str> {
        if b.len() < HEADER_LEN {
            return Err("segment is shorter than its header");
        }
        if b[0..HEADER_LEN].iter().all(|&x| x == 0) {
            return Err("segment header is all zeros");
        }
        if &b[0..8] != MAGIC {
            return Err("bad segment magic");
        }
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        if crc32c(&b[0..60]) != u32_at(60) {
            return Err("segment header checksum mismatch");
        }
        if u32_at(8) != VERSION {
            return Err("unsupported segment format version");
        }
        if u32_at(12) as usize != HEADER_LEN || b[52..60].iter().any(|&x| x != 0) {
            return Err("malformed segment header");
        }
        let h = SegmentHeader {
            first_index: u64_at(16),
            salt: u64_at(24),
            created_ms: u64_at(32),
            marker: u64_at(40),
            key_id: u32_at(48),
        };
        if h.salt == 0 || h.first_index == 0 {
            return Err("malformed segment header");
        }
        Ok(h)
    }
}

/// Which copies of a header validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRead {
    /// The decoded header (from the primary copy when it validates).
    pub header: SegmentHeader,
    /// Both copies validate and agree.
    pub intact: bool,
}

impl SegmentHeader {
    /// Writes both copies into the start of a segment image.
    pub fn write_to(&self, region: &crate::region::Region) {
        let raw = self.encode();
        region.write(0, &raw);
        region.write(COPY_AT, &raw);
    }

    /// Reads the header from the start of a segment image, falling back to the
    /// copy; the error of the primary copy when neither validates.
    pub fn read_from(bytes: &[u8]) -> Result<HeaderRead, &'static str> {
        if bytes.len() < FRAMES_START {
            return Err("segment is shorter than its header");
        }
        let primary = SegmentHeader::decode(&bytes[..HEADER_LEN]);
        let copy = SegmentHeader::decode(&bytes[COPY_AT..FRAMES_START]);
        let gap_clean = bytes[HEADER_LEN..COPY_AT].iter().all(|&b| b == 0);
        match (primary, copy) {
            (Ok(a), Ok(b)) => Ok(HeaderRead {
                header: a,
                intact: a == b && gap_clean,
            }),
            (Ok(h), Err(_)) | (Err(_), Ok(h)) => Ok(HeaderRead {
                header: h,
                intact: false,
            }),
            (Err(e), Err(_)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_round_trips_and_any_flipped_bit_is_rejected() {
        let h = SegmentHeader {
            first_index: 1001,
            salt: 0xdead_beef,
            created_ms: 1,
            marker: 77,
            key_id: 3,
        };
        let raw = h.encode();
        assert_eq!(SegmentHeader::decode(&raw), Ok(h));
        for bit in 0..HEADER_LEN * 8 {
            let mut bad = raw;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(SegmentHeader::decode(&bad).is_err(), "bit {bit} undetected");
        }
    }
}
