//! Validating a range of entries without copying them out, for tools that
//! check a whole log (`walnut verify`): every entry is validated exactly as
//! a read validates it (checksum, index, decoding), and damage is collected
//! instead of ending the check, so one bad record does not hide the others.

use super::Wal;
use crate::error::{Damage, Error, Result};

/// What [`Wal::check_range`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// Entries that validated.
    pub entries: u64,
    /// Their payload bytes (decoded).
    pub bytes: u64,
    /// Entries that did not, in index order.
    pub damaged: Vec<Damage>,
}

impl Wal {
    /// Validates every entry in `[lo, hi)` as [`Wal::read`] would, without
    /// copying payloads. Damaged entries are collected in the result; any
    /// other error (a closed handle, an index outside the log, a missing
    /// encryption key) ends the check.
    pub fn check_range(&self, lo: u64, hi: u64) -> Result<Check> {
        let mut c = Check::default();
        for index in lo..hi {
            match self.with_entry(index, |_, data| data.len() as u64) {
                Ok(n) => {
                    c.entries += 1;
                    c.bytes += n;
                }
                Err(Error::Corrupt(d)) => c.damaged.push(d),
                Err(e) => return Err(e),
            }
        }
        Ok(c)
    }
}
