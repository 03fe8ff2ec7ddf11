//! Conversions between JavaScript values and core types.

use crate::error::invalid;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use walnut_core::{
    Algorithm, Compression, Encryption, Key, Options, RecoveryMode, Retention, SyncPolicy,
};

/// Largest integer a JavaScript number holds exactly.
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A log index from JavaScript: a non-negative safe integer.
pub fn index(v: f64, what: &str) -> napi::Result<u64> {
    match whole(v) {
        Some(n) if v <= MAX_SAFE => Ok(n),
        _ => Err(invalid(format!(
            "{what} must be a non-negative safe integer, got {v}"
        ))),
    }
}

/// `v` as an unsigned integer, if it is a whole number that fits (NaN,
/// negative and fractional numbers do not). Converting there and back costs
/// two instructions; `f64::fract` is a call into libm on the baseline x86-64
/// target, on every index a read passes.
pub fn whole(v: f64) -> Option<u64> {
    let n = v as u64;
    (n as f64 == v).then_some(n)
}

/// A log index for JavaScript.
pub fn js_index(i: u64) -> f64 {
    i as f64
}

/// Options as the TypeScript layer passes them (already defaulted there).
#[napi(object)]
pub struct NativeOptions {
    pub segment_size: Option<f64>,
    pub max_record_size: Option<f64>,
    /// `none`, `always`, `bytes` or `ms`.
    pub sync: Option<String>,
    /// Bytes or milliseconds for `bytes` / `ms`.
    pub sync_interval: Option<f64>,
    /// `tolerateTail`, `absolute` or `salvage`.
    pub recovery: Option<String>,
    pub read_only: Option<bool>,
    pub marker: Option<f64>,
    pub retention_max_age_ms: Option<f64>,
    pub retention_min_segments: Option<f64>,
    pub retention_max_segments: Option<f64>,
    pub prefault: Option<bool>,
    /// `none`, `lz4`, `zstd` or `snappy`.
    pub compression: Option<String>,
    /// Records smaller than this many bytes are not compressed.
    pub compression_threshold: Option<f64>,
    /// zstd level.
    pub compression_level: Option<i32>,
    /// Encryption keys: ids with 32-byte keys.
    pub encryption_keys: Option<Vec<NativeKey>>,
    /// Id of the key for new segments.
    pub encryption_active: Option<u32>,
    /// Store the append time with each entry.
    pub timestamps: Option<bool>,
}

/// An encryption key.
#[napi(object)]
pub struct NativeKey {
    pub id: u32,
    pub key: Buffer,
}

fn count(v: Option<f64>, what: &str) -> napi::Result<Option<u64>> {
    v.map(|x| index(x, what)).transpose()
}

impl NativeOptions {
    pub fn into_core(self) -> napi::Result<Options> {
        let d = Options::default();
        let interval = count(self.sync_interval, "sync interval")?;
        let sync = match (self.sync.as_deref(), interval) {
            (None | Some("none"), _) => SyncPolicy::None,
            (Some("always"), _) => SyncPolicy::Always,
            (Some("bytes"), Some(n)) => SyncPolicy::EveryBytes(n),
            (Some("ms"), Some(n)) => SyncPolicy::EveryMs(n),
            (Some(other), _) => return Err(invalid(format!("unknown sync policy {other:?}"))),
        };
        let recovery = match self.recovery.as_deref() {
            None | Some("tolerateTail") => RecoveryMode::TolerateTail,
            Some("absolute") => RecoveryMode::Absolute,
            Some("salvage") => RecoveryMode::Salvage,
            Some(other) => return Err(invalid(format!("unknown recovery mode {other:?}"))),
        };
        Ok(Options {
            segment_size: count(self.segment_size, "segmentSize")?.unwrap_or(d.segment_size),
            max_record_size: count(self.max_record_size, "maxRecordSize")?
                .unwrap_or(d.max_record_size),
            sync,
            recovery,
            read_only: self.read_only.unwrap_or(false),
            marker: count(self.marker, "marker")?.unwrap_or(0),
            retention: Retention {
                max_age_ms: count(self.retention_max_age_ms, "retention.maxAgeMs")?,
                min_segments: count(self.retention_min_segments, "retention.minSegments")?
                    .unwrap_or(0) as usize,
                max_segments: count(self.retention_max_segments, "retention.maxSegments")?
                    .map(|x| x as usize),
            },
            prefault: self.prefault.unwrap_or(d.prefault),
            compression: Compression {
                algorithm: match self.compression.as_deref() {
                    None | Some("none") => Algorithm::None,
                    Some("lz4") => Algorithm::Lz4,
                    Some("zstd") => Algorithm::Zstd(self.compression_level.unwrap_or(3)),
                    Some("snappy") => Algorithm::Snappy,
                    Some(other) => return Err(invalid(format!("unknown compression {other:?}"))),
                },
                threshold: count(self.compression_threshold, "compression threshold")?.unwrap_or(64)
                    as usize,
            },
            encryption: match self.encryption_keys {
                None => None,
                Some(keys) => Some(Encryption {
                    keys: keys
                        .into_iter()
                        .map(|k| {
                            let key: [u8; 32] = k.key.as_ref().try_into().map_err(|_| {
                                invalid(format!("encryption key {} must be 32 bytes", k.id))
                            })?;
                            Ok(Key { id: k.id, key })
                        })
                        .collect::<napi::Result<Vec<Key>>>()?,
                    active: self.encryption_active.unwrap_or(0),
                }),
            },
            timestamps: self.timestamps.unwrap_or(false),
        })
    }
}

/// What the sync thread reports after each sync.
#[napi(object)]
pub struct SyncNote {
    /// Durable index after the sync (unchanged on failure).
    pub durable: f64,
    /// The error message (JSON, as for thrown errors) when the sync failed.
    pub error: Option<String>,
    /// A segment whose seal became durable (it rotated out), if that is the news.
    pub sealed: Option<NativeSealed>,
}

/// A segment that rotated out.
#[napi(object)]
pub struct NativeSealed {
    pub segment: String,
    pub first_index: f64,
    pub last_index: f64,
}

/// A torn tail cut off at open.
#[napi(object)]
pub struct NativeTruncation {
    pub segment: String,
    pub offset: f64,
    pub from_index: f64,
    pub bytes: f64,
    pub reason: String,
}

/// Damage where a salvage-mode open stopped reading.
#[napi(object)]
pub struct NativeDamage {
    pub file: String,
    pub offset: f64,
    pub index: f64,
    pub reason: String,
}

/// What recovery found and did.
#[napi(object)]
pub struct NativeRecovery {
    pub mode: String,
    pub segments: u32,
    pub scanned_segments: u32,
    pub entries: f64,
    pub truncated: Option<NativeTruncation>,
    pub removed_segments: Vec<String>,
    pub damage: Option<NativeDamage>,
    pub clean: bool,
    pub duration_ms: f64,
}

impl From<&walnut_core::RecoveryReport> for NativeRecovery {
    fn from(r: &walnut_core::RecoveryReport) -> Self {
        NativeRecovery {
            mode: match r.mode {
                RecoveryMode::TolerateTail => "tolerateTail",
                RecoveryMode::Absolute => "absolute",
                RecoveryMode::Salvage => "salvage",
            }
            .into(),
            segments: r.segments as u32,
            scanned_segments: r.scanned_segments as u32,
            entries: r.entries as f64,
            truncated: r.truncated.as_ref().map(|t| NativeTruncation {
                segment: t.segment.clone(),
                offset: t.offset as f64,
                from_index: t.from_index as f64,
                bytes: t.bytes as f64,
                reason: t.reason.clone(),
            }),
            removed_segments: r.removed_segments.clone(),
            damage: r.damage.as_ref().map(|d| NativeDamage {
                file: d.file.clone(),
                offset: d.offset as f64,
                index: d.index as f64,
                reason: d.reason.clone(),
            }),
            clean: r.clean,
            duration_ms: r.duration.as_secs_f64() * 1000.0,
        }
    }
}

/// Counters and shape of a log.
#[napi(object)]
pub struct NativeStats {
    pub appends: f64,
    pub appended_bytes: f64,
    pub syncs: f64,
    pub sync_failures: f64,
    pub rotations: f64,
    /// Histogram: element `b` counts syncs that took under `2^b` microseconds.
    pub sync_latency_us: Vec<f64>,
    pub segments: f64,
    pub first_index: f64,
    pub last_index: f64,
    pub durable_index: f64,
    pub index_bytes: f64,
}

impl From<walnut_core::Stats> for NativeStats {
    fn from(s: walnut_core::Stats) -> Self {
        NativeStats {
            appends: s.appends as f64,
            appended_bytes: s.appended_bytes as f64,
            syncs: s.syncs as f64,
            sync_failures: s.sync_failures as f64,
            rotations: s.rotations as f64,
            sync_latency_us: s.sync_latency_us.iter().map(|&x| x as f64).collect(),
            segments: s.segments as f64,
            first_index: s.first_index as f64,
            last_index: s.last_index as f64,
            durable_index: s.durable_index as f64,
            index_bytes: s.index_bytes as f64,
        }
    }
}

/// One segment file of a log.
#[napi(object)]
pub struct NativeSegment {
    pub name: String,
    pub first_index: f64,
    pub last_index: f64,
    pub file_bytes: f64,
    pub used_bytes: f64,
    pub sealed: bool,
    pub created_ms: f64,
}

impl From<walnut_core::SegmentInfo> for NativeSegment {
    fn from(s: walnut_core::SegmentInfo) -> Self {
        NativeSegment {
            name: s.name,
            first_index: js_index(s.first_index),
            last_index: js_index(s.last_index),
            file_bytes: s.file_bytes as f64,
            used_bytes: s.used_bytes as f64,
            sealed: s.sealed,
            created_ms: s.created_ms as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_whole_non_negative_safe_integers() {
        for ok in [0.0, -0.0, 1.0, 4096.0, MAX_SAFE] {
            assert_eq!(index(ok, "index").unwrap(), ok as u64, "{ok} is an index");
        }
        for bad in [
            -1.0,
            0.5,
            1.5,
            -0.5,
            MAX_SAFE + 1.0,
            2f64.powi(64),
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert!(index(bad, "index").is_err(), "{bad} is not an index");
        }
    }

    #[test]
    fn whole_numbers_convert_and_others_do_not() {
        assert_eq!(whole(7.0), Some(7));
        assert_eq!(whole(2f64.powi(53)), Some(1 << 53));
        for bad in [7.25, -7.0, f64::NAN, f64::INFINITY, 1e30] {
            assert_eq!(whole(bad), None, "{bad}");
        }
    }
}
