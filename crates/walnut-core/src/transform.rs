//! Payload transforms: an entry timestamp, compression, and authenticated
//! encryption. Each is flagged in the frame, so a log written with other
//! settings (or with mixed settings over time) always reads back. The frame
//! CRC covers the bytes on disk, i.e. after every transform.
//!
//! On disk a transformed payload is, in order:
//!
//! ```text
//! [timestamp: u64 ms]            if FLAG_TIMESTAMP (kept in clear so time seeks need no key)
//! [epoch: u64][ciphertext][tag]  if FLAG_ENCRYPTED; the plaintext is the next item
//! [size: u32][compressed bytes]  if a compression algorithm is flagged
//! [data]                         otherwise
//! ```
//!
//! Encryption is XChaCha20-Poly1305 with the 24-byte nonce `salt ‖ epoch ‖
//! index`: the salt is fresh for every segment file (truncation rewrites get a
//! new one), and the epoch is bumped durably at every writable open, so a
//! nonce is never used twice even when an index is written again after a
//! torn tail was cut off. The associated data binds the ciphertext to its
//! index, term and entry type. The key id is stored in the segment header, so
//! keys can rotate: old segments stay readable with their old keys.

use crate::error::{Error, Result};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::borrow::Cow;
use std::collections::HashMap;

/// The payload carries an 8-byte timestamp prefix.
pub const FLAG_TIMESTAMP: u16 = 1 << 5;
/// The payload is encrypted.
pub const FLAG_ENCRYPTED: u16 = 1 << 4;
const COMPRESSION_SHIFT: u16 = 2;
const COMPRESSION_MASK: u16 = 0b11 << COMPRESSION_SHIFT;
/// Every flag bit a transform may set.
pub const TRANSFORM_FLAGS: u16 = FLAG_TIMESTAMP | FLAG_ENCRYPTED | COMPRESSION_MASK;
const TAG: usize = 16;
/// Bytes encryption adds to a payload (epoch and tag).
pub const ENCRYPTION_OVERHEAD: usize = 8 + TAG;

/// Compression algorithm for record payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// No compression.
    #[default]
    None,
    /// LZ4 block format.
    Lz4,
    /// Zstandard at the given level. Needs the `zstd` cargo feature (on by
    /// default); a build without it refuses this algorithm with
    /// [`Error::InvalidArgument`], for writing and for reading alike.
    Zstd(i32),
    /// Snappy raw format.
    Snappy,
}

impl Algorithm {
    fn code(self) -> u16 {
        match self {
            Algorithm::None => 0,
            Algorithm::Lz4 => 1,
            Algorithm::Zstd(_) => 2,
            Algorithm::Snappy => 3,
        }
    }
}

/// Compression settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compression {
    /// Algorithm for new records.
    pub algorithm: Algorithm,
    /// Records smaller than this are stored as they are.
    pub threshold: usize,
}

/// A 256-bit key with the id stored in segment headers.
#[derive(Clone)]
pub struct Key {
    /// Identifier (nonzero) recorded in each segment encrypted with the key.
    pub id: u32,
    /// The key bytes.
    pub key: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Encryption settings: every key that may be needed to read, and the one
/// used for new segments.
#[derive(Debug, Clone)]
pub struct Encryption {
    /// Keys by id.
    pub keys: Vec<Key>,
    /// Id of the key for new segments.
    pub active: u32,
}

/// The transforms of one open log.
pub(crate) struct Transforms {
    compression: Compression,
    timestamps: bool,
    ciphers: HashMap<u32, XChaCha20Poly1305>,
    active: u32,
    epoch: u64,
    max_record: usize,
}

/// Where a frame lives, for the nonce and the associated data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameCtx {
    pub salt: u64,
    pub key_id: u32,
    pub index: u64,
    pub term: u64,
    pub kind: u8,
}

/// A decoded payload.
pub(crate) struct Decoded<'a> {
    pub timestamp: Option<u64>,
    pub data: Cow<'a, [u8]>,
}

fn nonce(ctx: &FrameCtx, epoch: u64) -> XNonce {
    let mut n = [0u8; 24];
    n[0..8].copy_from_slice(&ctx.salt.to_le_bytes());
    n[8..16].copy_from_slice(&epoch.to_le_bytes());
    n[16..24].copy_from_slice(&ctx.index.to_le_bytes());
    n.into()
}

fn aad(ctx: &FrameCtx) -> [u8; 17] {
    let mut a = [0u8; 17];
    a[0..8].copy_from_slice(&ctx.index.to_le_bytes());
    a[8..16].copy_from_slice(&ctx.term.to_le_bytes());
    a[16] = ctx.kind;
    a
}

fn corrupt(ctx: &FrameCtx, why: &str) -> Error {
    Error::Corrupt(crate::error::Damage {
        file: String::new(),
        offset: 0,
        index: ctx.index,
        reason: why.to_string(),
    })
}

impl Transforms {
    pub fn new(
        compression: Compression,
        encryption: Option<&Encryption>,
        timestamps: bool,
        epoch: u64,
        max_record: usize,
    ) -> Result<Transforms> {
        let mut ciphers = HashMap::new();
        let mut active = 0;
        if let Some(enc) = encryption {
            for k in &enc.keys {
                if k.id == 0 {
                    return Err(Error::invalid("encryption key ids must be nonzero"));
                }
                ciphers.insert(k.id, XChaCha20Poly1305::new(&k.key.into()));
            }
            if !ciphers.contains_key(&enc.active) {
                return Err(Error::invalid(
                    "the active encryption key is not among the keys",
                ));
            }
            active = enc.active;
        }
        if let Algorithm::Zstd(level) = compression.algorithm {
            check_zstd_level(level)?;
        }
        Ok(Transforms {
            compression,
            timestamps,
            ciphers,
            active,
            epoch,
            max_record,
        })
    }

    /// True when new records are stored exactly as given.
    pub fn is_identity(&self) -> bool {
        self.compression.algorithm == Algorithm::None && !self.timestamps && self.active == 0
    }

    /// Key id for new segments (0: none).
    pub fn active_key(&self) -> u32 {
        self.active
    }

    /// First stage (independent of where the frame lands): timestamp and
    /// compression. Returns the flags, the timestamp and the body to encrypt.
    pub fn prepare<'a>(
        &self,
        data: &'a [u8],
        now_ms: u64,
    ) -> Result<(u16, Option<u64>, Cow<'a, [u8]>)> {
        let mut flags = 0;
        let ts = self.timestamps.then_some(now_ms);
        if ts.is_some() {
            flags |= FLAG_TIMESTAMP;
        }
        let c = self.compression;
        let mut body = Cow::Borrowed(data);
        if c.algorithm != Algorithm::None && data.len() >= c.threshold.max(1) {
            let packed = compress(c.algorithm, data)?;
            if packed.len() < data.len() {
                flags |= c.algorithm.code() << COMPRESSION_SHIFT;
                body = Cow::Owned(packed);
            }
        }
        Ok((flags, ts, body))
    }

    /// Bytes the payload will occupy once sealed.
    pub fn sealed_len(&self, body_len: usize, timestamp: bool) -> usize {
        body_len
            + if timestamp { 8 } else { 0 }
            + if self.active != 0 {
                ENCRYPTION_OVERHEAD
            } else {
                0
            }
    }

    /// Second stage: writes the on-disk payload (timestamp, encryption) into
    /// `out` and returns the final flags.
    pub fn seal(
        &self,
        ctx: &FrameCtx,
        mut flags: u16,
        ts: Option<u64>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u16> {
        if let Some(ts) = ts {
            out.extend_from_slice(&ts.to_le_bytes());
        }
        if self.active == 0 || ctx.key_id == 0 {
            out.extend_from_slice(body);
            return Ok(flags);
        }
        let cipher = self
            .ciphers
            .get(&ctx.key_id)
            .ok_or_else(|| Error::BadKey(format!("no key with id {}", ctx.key_id)))?;
        out.extend_from_slice(&self.epoch.to_le_bytes());
        let start = out.len();
        out.extend_from_slice(body);
        let tag = cipher
            .encrypt_in_place_detached(&nonce(ctx, self.epoch), &aad(ctx), &mut out[start..])
            .map_err(|_| Error::invalid("encryption failed"))?;
        out.extend_from_slice(&tag);
        flags |= FLAG_ENCRYPTED;
        Ok(flags)
    }

    /// Reads back what `prepare` + `seal` wrote. Sizes are bounded by the
    /// maximum record size before anything is allocated.
    pub fn decode<'a>(&self, ctx: &FrameCtx, flags: u16, raw: &'a [u8]) -> Result<Decoded<'a>> {
        let mut rest = raw;
        let mut timestamp = None;
        if flags & FLAG_TIMESTAMP != 0 {
            if rest.len() < 8 {
                return Err(corrupt(ctx, "timestamped payload is too short"));
            }
            timestamp = Some(u64::from_le_bytes(rest[..8].try_into().unwrap()));
            rest = &rest[8..];
        }
        let mut data: Cow<'a, [u8]> = Cow::Borrowed(rest);
        if flags & FLAG_ENCRYPTED != 0 {
            if rest.len() < ENCRYPTION_OVERHEAD {
                return Err(corrupt(ctx, "encrypted payload is too short"));
            }
            let cipher = self.ciphers.get(&ctx.key_id).ok_or_else(|| {
                Error::BadKey(format!(
                    "entry {} needs key id {}, which was not supplied",
                    ctx.index, ctx.key_id
                ))
            })?;
            let epoch = u64::from_le_bytes(rest[..8].try_into().unwrap());
            let (body, tag) = rest[8..].split_at(rest.len() - 8 - TAG);
            let mut plain = body.to_vec();
            cipher
                .decrypt_in_place_detached(&nonce(ctx, epoch), &aad(ctx), &mut plain, tag.into())
                .map_err(|_| {
                    Error::BadKey(format!(
                        "entry {} does not authenticate with key id {}",
                        ctx.index, ctx.key_id
                    ))
                })?;
            data = Cow::Owned(plain);
        }
        let algo = match (flags & COMPRESSION_MASK) >> COMPRESSION_SHIFT {
            0 => None,
            1 => Some(Algorithm::Lz4),
            2 => Some(Algorithm::Zstd(0)),
            _ => Some(Algorithm::Snappy),
        };
        if let Some(algo) = algo {
            if !ZSTD && matches!(algo, Algorithm::Zstd(_)) {
                // Not damage: the bytes may be fine, this build cannot read them.
                return Err(zstd_missing(&format!(
                    "entry {} is zstd-compressed",
                    ctx.index
                )));
            }
            data = Cow::Owned(
                decompress(algo, &data, self.max_record).map_err(|why| corrupt(ctx, why))?,
            );
        }
        Ok(Decoded { timestamp, data })
    }

    /// Re-encrypts an on-disk payload for another place (a new segment file
    /// after copy-on-truncate): compression and timestamp stay as they are.
    /// Returns the new flags.
    pub fn reseal(
        &self,
        from: &FrameCtx,
        to: &FrameCtx,
        flags: u16,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u16> {
        if flags & FLAG_ENCRYPTED == 0 {
            out.extend_from_slice(raw);
            return Ok(flags);
        }
        let ts_len = if flags & FLAG_TIMESTAMP != 0 { 8 } else { 0 };
        let ts = Transforms::timestamp_of(flags, raw);
        // Decrypt only: the inner bytes stay compressed.
        let inner = self
            .decode(from, flags & !COMPRESSION_MASK, raw)?
            .data
            .into_owned();
        debug_assert!(raw.len() >= ts_len);
        let keep = flags & !FLAG_ENCRYPTED;
        if to.key_id == 0 {
            if let Some(ts) = ts {
                out.extend_from_slice(&ts.to_le_bytes());
            }
            out.extend_from_slice(&inner);
            return Ok(keep);
        }
        self.seal(to, keep, ts, &inner, out)
    }

    /// The timestamp of a payload, without decoding the rest.
    pub fn timestamp_of(flags: u16, raw: &[u8]) -> Option<u64> {
        (flags & FLAG_TIMESTAMP != 0 && raw.len() >= 8)
            .then(|| u64::from_le_bytes(raw[..8].try_into().unwrap()))
    }
}

/// Whether this build can compress and decompress zstd (the `zstd` feature).
const ZSTD: bool = cfg!(feature = "zstd");

fn zstd_missing(what: &str) -> Error {
    Error::invalid(format!(
        "{what}, but this build of walnut has no zstd support (the `zstd` cargo feature of walnut-core is off)"
    ))
}

#[cfg(feature = "zstd")]
fn check_zstd_level(level: i32) -> Result<()> {
    if zstd::compression_level_range().contains(&level) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "zstd level {level} is out of range"
        )))
    }
}

#[cfg(not(feature = "zstd"))]
fn check_zstd_level(_level: i32) -> Result<()> {
    Err(zstd_missing("zstd compression was requested"))
}

#[cfg(feature = "zstd")]
fn zstd_compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    zstd::bulk::compress(data, level).map_err(|e| Error::io("compressing a record", e))
}

#[cfg(not(feature = "zstd"))]
fn zstd_compress(_data: &[u8], _level: i32) -> Result<Vec<u8>> {
    // Unreachable in practice: `Transforms::new` refuses zstd in this build.
    Err(zstd_missing("zstd compression was requested"))
}

#[cfg(feature = "zstd")]
fn zstd_decompress(body: &[u8], size: usize) -> std::result::Result<Vec<u8>, &'static str> {
    zstd::bulk::decompress(body, size).map_err(|_| "zstd payload does not decompress")
}

#[cfg(not(feature = "zstd"))]
fn zstd_decompress(_body: &[u8], _size: usize) -> std::result::Result<Vec<u8>, &'static str> {
    // Unreachable in practice: `decode` refuses zstd payloads in this build.
    Err("zstd payload, and this build has no zstd support")
}

fn compress(algo: Algorithm, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = (data.len() as u32).to_le_bytes().to_vec();
    match algo {
        Algorithm::None => unreachable!("no compression requested"),
        Algorithm::Lz4 => out.extend_from_slice(&lz4_flex::block::compress(data)),
        Algorithm::Zstd(level) => out.extend_from_slice(&zstd_compress(data, level)?),
        Algorithm::Snappy => out.extend_from_slice(
            &snap::raw::Encoder::new()
                .compress_vec(data)
                .map_err(|e| Error::invalid(format!("snappy: {e}")))?,
        ),
    }
    Ok(out)
}

fn decompress(
    algo: Algorithm,
    packed: &[u8],
    max: usize,
) -> std::result::Result<Vec<u8>, &'static str> {
    if packed.len() < 4 {
        return Err("compressed payload is too short");
    }
    let size = u32::from_le_bytes(packed[..4].try_into().unwrap()) as usize;
    if size > max {
        return Err("compressed payload claims more than the maximum record size");
    }
    let body = &packed[4..];
    let out = match algo {
        Algorithm::None => unreachable!("no compression flagged"),
        Algorithm::Lz4 => lz4_flex::block::decompress(body, size)
            .map_err(|_| "lz4 payload does not decompress")?,
        Algorithm::Zstd(_) => zstd_decompress(body, size)?,
        Algorithm::Snappy => snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|_| "snappy payload does not decompress")?,
    };
    if out.len() != size {
        return Err("decompressed size differs from the stored size");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(key_id: u32) -> FrameCtx {
        FrameCtx {
            salt: 7,
            key_id,
            index: 42,
            term: 3,
            kind: 0,
        }
    }

    fn round_trip(t: &Transforms, data: &[u8]) -> (u16, Vec<u8>) {
        let (flags, ts, body) = t.prepare(data, 1234).unwrap();
        let mut out = Vec::new();
        let flags = t.seal(&ctx(t.active), flags, ts, &body, &mut out).unwrap();
        assert_eq!(out.len(), t.sealed_len(body.len(), ts.is_some()));
        let d = t.decode(&ctx(t.active), flags, &out).unwrap();
        assert_eq!(&*d.data, data);
        assert_eq!(d.timestamp, ts);
        (flags, out)
    }

    fn key(id: u32, byte: u8) -> Key {
        Key {
            id,
            key: [byte; 32],
        }
    }

    #[test]
    fn every_algorithm_round_trips_and_shrinks_repetitive_data() {
        let data = b"{\"event\":\"click\",\"user\":12345}".repeat(40);
        let mut algorithms = vec![Algorithm::Lz4, Algorithm::Snappy];
        if ZSTD {
            algorithms.push(Algorithm::Zstd(3));
        }
        for algorithm in algorithms {
            let t = Transforms::new(
                Compression {
                    algorithm,
                    threshold: 64,
                },
                None,
                false,
                1,
                1 << 20,
            )
            .unwrap();
            let (flags, out) = round_trip(&t, &data);
            assert_ne!(flags & COMPRESSION_MASK, 0, "{algorithm:?} must compress");
            assert!(
                out.len() < data.len() / 4,
                "{algorithm:?} stored {} bytes",
                out.len()
            );
        }
    }

    #[test]
    fn small_or_incompressible_records_are_stored_plain() {
        let t = Transforms::new(
            Compression {
                algorithm: Algorithm::Lz4,
                threshold: 64,
            },
            None,
            false,
            1,
            1 << 20,
        )
        .unwrap();
        assert_eq!(round_trip(&t, b"tiny").0, 0);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(round_trip(&t, &noise).0 & COMPRESSION_MASK, 0);
    }

    #[test]
    fn encrypted_payloads_hide_the_data_and_a_wrong_key_is_bad_key_not_garbage() {
        let enc = Encryption {
            keys: vec![key(1, 9)],
            active: 1,
        };
        let t = Transforms::new(Compression::default(), Some(&enc), true, 5, 1 << 20).unwrap();
        let (flags, out) = round_trip(&t, b"secret payload");
        assert!(!out.windows(6).any(|w| w == b"secret"));
        let wrong = Transforms::new(
            Compression::default(),
            Some(&Encryption {
                keys: vec![key(1, 8)],
                active: 1,
            }),
            true,
            5,
            1 << 20,
        )
        .unwrap();
        assert!(matches!(
            wrong.decode(&ctx(1), flags, &out),
            Err(Error::BadKey(_))
        ));
        let missing = Transforms::new(Compression::default(), None, false, 5, 1 << 20).unwrap();
        assert!(matches!(
            missing.decode(&ctx(1), flags, &out),
            Err(Error::BadKey(_))
        ));
    }

    #[test]
    fn ciphertext_moved_to_another_index_does_not_authenticate() {
        let enc = Encryption {
            keys: vec![key(1, 9)],
            active: 1,
        };
        let t = Transforms::new(Compression::default(), Some(&enc), false, 5, 1 << 20).unwrap();
        let (flags, out) = round_trip(&t, b"payload");
        let moved = FrameCtx {
            index: 43,
            ..ctx(1)
        };
        assert!(matches!(
            t.decode(&moved, flags, &out),
            Err(Error::BadKey(_))
        ));
    }

    #[test]
    fn a_compressed_size_beyond_the_limit_is_refused_before_allocating() {
        let t = Transforms::new(
            Compression {
                algorithm: Algorithm::Lz4,
                threshold: 1,
            },
            None,
            false,
            1,
            1000,
        )
        .unwrap();
        let mut bomb = u32::MAX.to_le_bytes().to_vec();
        bomb.extend_from_slice(&[0; 16]);
        assert!(matches!(
            t.decode(&ctx(0), 1 << COMPRESSION_SHIFT, &bomb),
            Err(Error::Corrupt(_))
        ));
    }

    /// Without the `zstd` feature, zstd is refused as an argument (writing)
    /// and zstd-flagged payloads are not mistaken for damage (reading).
    #[cfg(not(feature = "zstd"))]
    #[test]
    fn a_build_without_zstd_refuses_it_with_a_typed_error() {
        let zstd = Compression {
            algorithm: Algorithm::Zstd(3),
            threshold: 1,
        };
        let err = Transforms::new(zstd, None, false, 1, 1 << 20)
            .err()
            .expect("zstd must be refused");
        assert_eq!(err.code(), "ERR_WAL_INVALID_ARGUMENT");
        assert!(err.to_string().contains("`zstd` cargo feature"), "{err}");
        let t = Transforms::new(Compression::default(), None, false, 1, 1 << 20).unwrap();
        let mut packed = 4u32.to_le_bytes().to_vec();
        packed.extend_from_slice(b"\x28\xb5\x2f\xfd");
        let err = t
            .decode(&ctx(0), 2 << COMPRESSION_SHIFT, &packed)
            .err()
            .expect("a zstd payload cannot be read");
        assert_eq!(err.code(), "ERR_WAL_INVALID_ARGUMENT");
    }
}
