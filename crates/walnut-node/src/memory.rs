//! `NativeMemoryFs`: the in-memory file system of walnut-core, for users'
//! own tests. It behaves like a disk (synced data survives a simulated power
//! loss, unsynced data may not) and can be told to fail operations.

use crate::error::invalid;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use walnut_core::fs::{FaultOp, FileSystem, MemoryFs, MemoryFsFault};

/// An in-memory storage backend.
#[napi]
pub struct NativeMemoryFs {
    fs: Mutex<MemoryFs>,
}

fn op(name: &str) -> Result<FaultOp> {
    Ok(match name {
        "sync" => FaultOp::Sync,
        "create" => FaultOp::Create,
        "writeFile" => FaultOp::WriteFile,
        "rename" => FaultOp::Rename,
        "remove" => FaultOp::Remove,
        "syncDir" => FaultOp::SyncDir,
        other => return Err(invalid(format!("unknown operation {other:?}"))),
    })
}

fn errno(code: &str) -> Result<i32> {
    Ok(match code {
        "EIO" => 5,
        "ENOSPC" => 28,
        "EDQUOT" => 122,
        "EROFS" => 30,
        other => return Err(invalid(format!("unsupported error code {other:?}"))),
    })
}

#[napi]
impl NativeMemoryFs {
    /// An empty in-memory file system.
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeMemoryFs {
            fs: Mutex::new(MemoryFs::new()),
        }
    }

    /// Makes the next `times` calls of `operation` fail with `code` (every
    /// call from now on when `times` is omitted).
    #[napi(catch_unwind)]
    pub fn fail(&self, operation: String, code: String, times: Option<u32>) -> Result<()> {
        let fault = MemoryFsFault {
            op: op(&operation)?,
            errno: errno(&code)?,
            times,
        };
        self.lock()?.inject(fault);
        Ok(())
    }

    /// Removes every pending fault.
    #[napi(catch_unwind)]
    pub fn clear_faults(&self) -> Result<()> {
        self.lock()?.clear_faults();
        Ok(())
    }

    /// Simulates power loss: from now on the storage holds only what was
    /// synced. Handles opened before are cut off from it; reopen the log.
    #[napi(catch_unwind)]
    pub fn crash(&self) -> Result<()> {
        let mut fs = self.lock()?;
        let after = fs.crash();
        *fs = after;
        Ok(())
    }
}

impl NativeMemoryFs {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryFs>> {
        self.fs.lock().map_err(|_| crate::error::panicked())
    }

    /// The file system to open a log on.
    pub fn current(&self) -> Result<Arc<dyn FileSystem>> {
        Ok(Arc::new(self.lock()?.clone()))
    }
}

impl Default for NativeMemoryFs {
    fn default() -> Self {
        NativeMemoryFs::new()
    }
}
