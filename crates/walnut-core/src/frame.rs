//! Record framing. Every record is one frame: a 32-byte header, the payload,
//! zero padding to a multiple of 8 bytes.
//!
//! ```text
//! offset size field
//!  0     4    size   32 + payload length (never 0 for a frame); 0 marks the end of the log
//!  4     4    crc    CRC32C seeded with the segment salt, over bytes 0..4 and 8..end,
//!                     padding included (so every bit of a frame is covered)
//!  8     8    index  log index of the record
//! 16     8    term   Raft term (0 when unused)
//! 24     2    flags  FLAG_BATCH_MORE | FLAG_MARKER | transform flags (see
//!                     [`crate::transform`]); other bits must be zero
//! 26     1    kind   entry type (Raft: 0 normal, 1 conf change, 2 conf change v2)
//! 27     1    zero
//! 28     4    lag    index - durable index when written (0: no claim), see below
//! 32     len  payload
//! ```
//!
//! `lag` is an *attestation*: a frame at index `i` with lag `l > 0` proves that
//! every record up to `i - l` had been made durable before this frame was
//! written. Recovery uses it to tell a torn tail (nothing attests to the missing
//! bytes) from damage to acknowledged data (a later valid frame attests to them).

use crate::crc::{crc32c, Crc32c};
use std::io::IoSlice;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 32;
/// Frames start at multiples of this.
pub const ALIGN: usize = 8;
/// More frames of the same atomic batch follow this one.
pub const FLAG_BATCH_MORE: u16 = 1;
/// Not an entry: a durability attestation written on close (its payload is the
/// attested index as u64). It does not consume a log index.
pub const FLAG_MARKER: u16 = 2;
const KNOWN_FLAGS: u16 = FLAG_BATCH_MORE | FLAG_MARKER | crate::transform::TRANSFORM_FLAGS;

/// Rounds `n` up to the frame alignment.
pub const fn align(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

/// Bytes a record of `payload_len` occupies on disk.
pub const fn frame_len(payload_len: usize) -> usize {
    align(HEADER_LEN + payload_len)
}

/// The zero bytes that follow a payload of `payload_len` to the next frame.
pub const fn pad_len(payload_len: usize) -> usize {
    frame_len(payload_len) - HEADER_LEN - payload_len
}

/// The bytes of a frame in order: its sealed header, its payload and the zero
/// padding to the next frame.
pub fn parts<'a>(header: &'a [u8; HEADER_LEN], payload: &'a [u8]) -> [IoSlice<'a>; 3] {
    const ZEROS: [u8; ALIGN] = [0; ALIGN];
    [
        IoSlice::new(header),
        IoSlice::new(payload),
        IoSlice::new(&ZEROS[..pad_len(payload.len())]),
    ]
}

/// The decoded fixed part of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    /// Payload length (stored on disk as `HEADER_LEN + len`).
    pub len: u32,
    /// Stored checksum.
    pub crc: u32,
    /// Log index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
    /// Flag bits.
    pub flags: u16,
    /// Entry type.
    pub kind: u8,
    /// Durability attestation (see the module docs).
    pub lag: u32,
}

impl FrameHeader {
    /// Encodes the header with `crc` left as stored in `self`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&(self.len + HEADER_LEN as u32).to_le_bytes());
        b[4..8].copy_from_slice(&self.crc.to_le_bytes());
        b[8..16].copy_from_slice(&self.index.to_le_bytes());
        b[16..24].copy_from_slice(&self.term.to_le_bytes());
        b[24..26].copy_from_slice(&self.flags.to_le_bytes());
        b[26] = self.kind;
        b[28..32].copy_from_slice(&self.lag.to_le_bytes());
        b
    }

    /// Decodes a header without validating anything.
    pub fn decode(b: &[u8]) -> FrameHeader {
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        FrameHeader {
            len: u32_at(0).wrapping_sub(HEADER_LEN as u32),
            crc: u32_at(4),
            index: u64_at(8),
            term: u64_at(16),
            flags: u16::from_le_bytes([b[24], b[25]]),
            kind: b[26],
            lag: u32_at(28),
        }
    }

    /// True if the reserved bits are clear (cheap filter before the CRC).
    pub fn plausible(raw: &[u8]) -> bool {
        let flags = u16::from_le_bytes([raw[24], raw[25]]);
        raw[27] == 0 && flags & !KNOWN_FLAGS == 0
    }

    /// Whether this frame is a close marker rather than an entry.
    pub fn is_marker(&self) -> bool {
        self.flags & FLAG_MARKER != 0
    }

    /// The highest index this frame proves durable, if it proves anything.
    pub fn attests(&self) -> Option<u64> {
        if self.is_marker() {
            return Some(self.index);
        }
        (self.lag > 0).then(|| self.index.saturating_sub(self.lag as u64))
    }
}

/// The CRC seed of a segment: bytes from another segment, or from before this
/// segment existed, never validate.
pub fn seed(salt: u64) -> u32 {
    crc32c(&salt.to_le_bytes())
}

/// CRC of an encoded header (its crc field excluded), the payload, and the
/// zero padding that follows it.
pub fn checksum(seed: u32, header: &[u8], payload: &[u8]) -> u32 {
    let pad = pad_len(payload.len());
    Crc32c::resume(seed)
        .update(&header[0..4])
        .update(&header[8..HEADER_LEN])
        .update(payload)
        .update(&[0u8; ALIGN][..pad])
        .value()
}

/// Builds the bytes of a frame header, checksum included.
pub fn seal_header(seed: u32, mut header: FrameHeader, payload: &[u8]) -> [u8; HEADER_LEN] {
    header.len = payload.len() as u32;
    header.crc = 0;
    let mut raw = header.encode();
    let crc = checksum(seed, &raw, payload);
    raw[4..8].copy_from_slice(&crc.to_le_bytes());
    raw
}

/// Outcome of looking at the bytes where a frame should start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A zero length word: the end of the written log.
    End,
    /// A frame that validates.
    Valid(FrameHeader),
    /// Something that is neither the end nor a valid frame.
    Invalid(&'static str),
}

/// Validates the frame at `off` in `bytes` (which ends where frames may end).
/// Lengths are bounded by the bytes left before any use, so a damaged length
/// field can never cause a huge allocation or read.
pub fn parse(bytes: &[u8], off: usize, seed: u32) -> Parsed {
    if off + HEADER_LEN > bytes.len() {
        return if bytes.len() - off.min(bytes.len()) < 4
            || bytes[off..(off + 4).min(bytes.len())]
                .iter()
                .all(|&b| b == 0)
        {
            Parsed::End
        } else {
            Parsed::Invalid("frame header runs past the end of the segment")
        };
    }
    let raw = &bytes[off..off + HEADER_LEN];
    let size = u32::from_le_bytes(raw[0..4].try_into().unwrap());
    if size == 0 {
        return Parsed::End;
    }
    if (size as usize) < HEADER_LEN {
        return Parsed::Invalid("frame size is smaller than a header");
    }
    let h = FrameHeader::decode(raw);
    if !FrameHeader::plausible(raw) {
        return Parsed::Invalid("reserved frame bits are set");
    }
    let len = h.len as usize;
    if len > bytes.len() - off - HEADER_LEN || frame_len(len) > bytes.len() - off {
        return Parsed::Invalid("frame length runs past the end of the segment");
    }
    let payload = &bytes[off + HEADER_LEN..off + HEADER_LEN + len];
    let padding = &bytes[off + HEADER_LEN + len..off + frame_len(len)];
    if padding.iter().any(|&b| b != 0) {
        return Parsed::Invalid("frame padding is not zero");
    }
    if checksum(seed, raw, payload) != h.crc {
        return Parsed::Invalid("frame checksum mismatch");
    }
    Parsed::Valid(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seed: u32, index: u64, payload: &[u8]) -> Vec<u8> {
        let h = FrameHeader {
            index,
            term: 7,
            lag: 3,
            ..Default::default()
        };
        let mut out = seal_header(seed, h, payload).to_vec();
        out.extend_from_slice(payload);
        out.resize(frame_len(payload.len()) + 64, 0);
        out
    }

    #[test]
    fn a_sealed_frame_parses_back_with_all_fields() {
        let s = seed(42);
        let bytes = frame(s, 9, b"hello");
        let Parsed::Valid(h) = parse(&bytes, 0, s) else {
            panic!("frame did not validate")
        };
        assert_eq!((h.len, h.index, h.term, h.lag), (5, 9, 7, 3));
        assert_eq!(h.attests(), Some(6));
        assert_eq!(parse(&bytes, frame_len(5), s), Parsed::End);
    }

    #[test]
    fn an_empty_record_is_a_valid_frame_not_the_end_of_the_log() {
        let s = seed(3);
        let bytes = frame(s, 1, b"");
        assert!(matches!(parse(&bytes, 0, s), Parsed::Valid(h) if h.len == 0));
    }

    #[test]
    fn a_frame_from_another_segment_never_validates() {
        let bytes = frame(seed(1), 1, b"payload");
        assert!(matches!(parse(&bytes, 0, seed(2)), Parsed::Invalid(_)));
    }

    #[test]
    fn every_single_bit_flip_in_a_frame_is_detected() {
        let s = seed(5);
        let good = frame(s, 3, b"some payload bytes");
        for bit in 0..frame_len(18) * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(parse(&bad, 0, s), Parsed::Valid(_)),
                "flip of bit {bit} went undetected"
            );
        }
    }

    #[test]
    fn a_length_beyond_the_segment_is_rejected_before_reading() {
        let s = seed(5);
        let mut bytes = frame(s, 3, b"x");
        bytes[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            parse(&bytes, 0, s),
            Parsed::Invalid("frame length runs past the end of the segment")
        );
    }
}
