//! `NativeWal`: one walnut log, as the TypeScript `Wal` class sees it.

use crate::convert::{
    index, js_index, NativeOptions, NativeRecovery, NativeSealed, NativeSegment, NativeStats,
    SyncNote,
};
use crate::error::{invalid, panicked, to_napi, IntoNapi};
use crate::memory::NativeMemoryFs;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use walnut_core::fs::{FileSystem, OsFs};
use walnut_core::{SyncEvent, Wal};

/// The real file system, or the memory one the caller passed.
fn file_system(storage: Option<&NativeMemoryFs>) -> Result<Arc<dyn FileSystem>> {
    match storage {
        Some(m) => m.current(),
        None => Ok(Arc::new(OsFs)),
    }
}

type SyncTsfn = ThreadsafeFunction<SyncNote, (), SyncNote, Status, false>;

/// A native log handle.
#[napi]
pub struct NativeWal {
    wal: Arc<Wal>,
    listener: Mutex<Option<Arc<Mutex<SyncTsfn>>>>,
}

/// Runs `f` on a thread of its own and settles a promise with its result:
/// work that may fsync must never occupy the libuv pool.
fn off_thread<T, F>(env: &Env, f: F) -> Result<Object<'_>>
where
    T: ToNapiValue + Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    std::thread::Builder::new()
        .name("walnut-task".into())
        .spawn(move || {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err(panicked()))
            {
                Ok(v) => deferred.resolve(move |_| Ok(v)),
                Err(e) => deferred.reject(e),
            }
        })
        .map_err(|e| invalid(format!("cannot start a thread: {e}")))?;
    Ok(promise)
}

fn open_core(dir: String, options: NativeOptions, fs: Arc<dyn FileSystem>) -> Result<NativeWal> {
    let opts = options.into_core()?;
    let wal = Wal::open_with(fs, dir, opts).napi()?;
    Ok(NativeWal {
        wal: Arc::new(wal),
        listener: Mutex::new(None),
    })
}

#[napi]
impl NativeWal {
    /// Opens a log on the calling thread (recovery included).
    #[napi(factory, catch_unwind)]
    pub fn open_sync(
        dir: String,
        options: NativeOptions,
        storage: Option<&NativeMemoryFs>,
    ) -> Result<NativeWal> {
        open_core(dir, options, file_system(storage)?)
    }

    /// Opens a log on a thread of its own.
    #[napi(ts_return_type = "Promise<NativeWal>", catch_unwind)]
    pub fn open<'env>(
        env: &'env Env,
        dir: String,
        options: NativeOptions,
        storage: Option<&NativeMemoryFs>,
    ) -> Result<Object<'env>> {
        let fs = file_system(storage)?;
        off_thread(env, move || open_core(dir, options, fs))
    }

    /// Moves the commit watermark to `index` and makes it durable (off the JS thread).
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn commit<'env>(&self, env: &'env Env, index_: f64) -> Result<Object<'env>> {
        let i = index(index_, "index")?;
        let wal = self.wal.clone();
        off_thread(env, move || wal.commit(i).napi())
    }

    /// The commit watermark.
    #[napi(getter)]
    pub fn commit_index(&self) -> f64 {
        js_index(self.wal.commit_index())
    }

    /// The append time of an entry (Unix ms), if it carries one.
    #[napi(catch_unwind)]
    pub fn timestamp(&self, index_: f64) -> Result<Option<f64>> {
        let i = index(index_, "index")?;
        Ok(self.wal.timestamp(i).napi()?.map(|t| t as f64))
    }

    /// The first index whose timestamp is at or after `timeMs`.
    #[napi(catch_unwind)]
    pub fn seek_time(&self, time_ms: f64) -> Result<f64> {
        let t = index(time_ms, "timeMs")?;
        self.wal.seek_time(t).napi().map(js_index)
    }

    /// Appends the UTF-8 bytes of a string; returns its index.
    #[napi(catch_unwind)]
    pub fn append_string(&self, data: String) -> Result<f64> {
        self.wal.append(data.as_bytes()).napi().map(js_index)
    }

    /// Reads (copies) one record.
    #[napi(catch_unwind)]
    pub fn read<'env>(&self, env: &'env Env, index_: f64) -> Result<BufferSlice<'env>> {
        let i = index(index_, "index")?;
        self.wal
            .with_entry(i, |_, data| BufferSlice::copy_from(env, data))
            .napi()?
    }

    /// Reads the records in `[lo, hi)` within a byte budget (at least one).
    #[napi(catch_unwind)]
    pub fn read_range<'env>(
        &self,
        env: &'env Env,
        lo: f64,
        hi: f64,
        max_bytes: Option<f64>,
    ) -> Result<Vec<BufferSlice<'env>>> {
        let (lo, hi) = (index(lo, "lo")?, index(hi, "hi")?);
        let budget = max_bytes.map(|b| index(b, "maxBytes")).transpose()?;
        let entries = self.wal.read_range(lo, hi, budget).napi()?;
        entries
            .iter()
            .map(|e| BufferSlice::copy_from(env, &e.data))
            .collect()
    }

    /// The Raft term of a record.
    #[napi(catch_unwind)]
    pub fn term(&self, index_: f64) -> Result<f64> {
        let i = index(index_, "index")?;
        self.wal.term(i).napi().map(|t| t as f64)
    }

    /// Drops every record after `index`.
    #[napi(catch_unwind)]
    pub fn truncate_after(&self, index_: f64) -> Result<()> {
        self.wal.truncate_after(index(index_, "index")?).napi()
    }

    /// Drops every record before `index`.
    #[napi(catch_unwind)]
    pub fn truncate_before(&self, index_: f64) -> Result<()> {
        self.wal.truncate_before(index(index_, "index")?).napi()
    }

    /// Makes everything appended durable, on the calling thread.
    #[napi(catch_unwind)]
    pub fn sync_blocking(&self) -> Result<f64> {
        self.wal.sync().napi().map(js_index)
    }

    /// Asks the sync thread to make `index` durable; the listener hears when.
    #[napi(catch_unwind)]
    pub fn request_sync(&self, index_: f64) -> Result<()> {
        self.wal.request_sync(index(index_, "index")?).napi()
    }

    /// Installs the function the sync thread calls after every sync. It does
    /// not keep the process alive unless `keepAlive(true)` is set.
    #[napi(catch_unwind)]
    pub fn set_sync_listener(&self, env: &Env, callback: Function<SyncNote, ()>) -> Result<()> {
        let mut tsfn: SyncTsfn = callback
            .build_threadsafe_function::<SyncNote>()
            .callee_handled::<false>()
            .build()?;
        #[allow(deprecated)] // see `keep_alive`
        tsfn.unref(env)?;
        let tsfn = Arc::new(Mutex::new(tsfn));
        let for_core = tsfn.clone();
        self.wal.set_sync_listener(Some(Arc::new(move |event| {
            let note = match event {
                SyncEvent::Durable(d) => SyncNote {
                    durable: d as f64,
                    error: None,
                    sealed: None,
                },
                SyncEvent::Sealed {
                    segment,
                    first_index,
                    last_index,
                } => SyncNote {
                    durable: -1.0,
                    error: None,
                    sealed: Some(NativeSealed {
                        segment,
                        first_index: js_index(first_index),
                        last_index: js_index(last_index),
                    }),
                },
                SyncEvent::Failed { code, message } => SyncNote {
                    durable: -1.0,
                    error: Some(
                        to_napi(walnut_core::Error::Poisoned(format!("{code}: {message}"))).reason,
                    ),
                    sealed: None,
                },
            };
            if let Ok(t) = for_core.lock() {
                t.call(note, ThreadsafeFunctionCallMode::NonBlocking);
            }
        })));
        *self.listener.lock().map_err(|_| panicked())? = Some(tsfn);
        Ok(())
    }

    /// Whether pending sync notifications keep the Node process alive.
    // napi-rs deprecates refer/unref in favour of clone(), but cloning does not
    // call napi_ref/unref_threadsafe_function, which is what decides whether
    // the event loop waits for us.
    #[allow(deprecated)]
    #[napi(catch_unwind)]
    pub fn keep_alive(&self, env: &Env, on: bool) -> Result<()> {
        if let Some(t) = self.listener.lock().map_err(|_| panicked())?.as_ref() {
            let mut t = t.lock().map_err(|_| panicked())?;
            if on {
                t.refer(env)?;
            } else {
                t.unref(env)?;
            }
        }
        Ok(())
    }

    /// First index held.
    #[napi(getter)]
    pub fn first_index(&self) -> f64 {
        js_index(self.wal.first_index())
    }

    /// Last index held.
    #[napi(getter)]
    pub fn last_index(&self) -> f64 {
        js_index(self.wal.last_index())
    }

    /// Highest index known durable.
    #[napi(getter)]
    pub fn durable_index(&self) -> f64 {
        js_index(self.wal.durable_index())
    }

    /// Whether the handle is closed.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.wal.is_closed()
    }

    /// Counters and shape of the log.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> NativeStats {
        self.wal.stats().into()
    }

    /// What recovery found when this handle opened.
    #[napi(catch_unwind)]
    pub fn recovery(&self) -> NativeRecovery {
        self.wal.recovery().into()
    }

    /// The segment files of the log, oldest first.
    #[napi(catch_unwind)]
    pub fn segments(&self) -> Vec<NativeSegment> {
        self.wal.segments().into_iter().map(Into::into).collect()
    }

    /// Copies the log up to its durable index into `dest`, off the JS thread.
    #[napi(ts_return_type = "Promise<number>", catch_unwind)]
    pub fn backup<'env>(&self, env: &'env Env, dest: String) -> Result<Object<'env>> {
        let wal = self.wal.clone();
        off_thread(env, move || wal.backup(dest).napi().map(js_index))
    }

    /// Closes the log off the JS thread (final sync included).
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let wal = self.wal.clone();
        self.drop_listener();
        off_thread(env, move || wal.close().napi())
    }

    /// Closes the log on the calling thread.
    #[napi(catch_unwind)]
    pub fn close_sync(&self) -> Result<()> {
        self.drop_listener();
        self.wal.close().napi()
    }
}

impl NativeWal {
    /// The core handle (for the fast-path functions in `fast.rs`).
    pub(crate) fn core(&self) -> &Arc<Wal> {
        &self.wal
    }

    fn drop_listener(&self) {
        self.wal.set_sync_listener(None);
        if let Ok(mut l) = self.listener.lock() {
            l.take();
        }
    }
}
