//! The calls made once per record (`append`, `readInto`, and the scan's
//! `readRangeInto`) as raw N-API callbacks, and a raw no-op, the benchmark's
//! floor for a native call.
//!
//! Even a plain napi-rs function pays for napi-rs's per-call borrow
//! bookkeeping (a scope pushed and popped in thread-local storage, a vector
//! allocated and freed, a type-id map lookup for an `External`): about 1,700
//! instructions, as much as the rest of an append of 1 KiB. These callbacks
//! do only what N-API requires: read the arguments, check the handle's type
//! tag, call the core, and convert the result or throw the same error the
//! napi-rs functions throw. Everything else stays on napi-rs (fast.rs for
//! the other per-call functions, wal.rs for the rest).
//!
//! A handle keeps a [`SegmentCache`] for its reads, so that a read takes no
//! lock and touches no reference count. What the cache holds is let go at the
//! next read after the segment list changes, or through
//! `walReleaseSegmentsRaw`: the TypeScript layer calls it after closing and
//! truncating, and when a segment rotates out (retention drops segments
//! then).
//!
//! Measured (release, 1 KiB records, ns per call, 3 runs): reading a cached
//! record 314-507 through napi-rs, 188-215 raw; a random record of a 100 MiB
//! log 855-984 and 524-680.

use crate::error::{panicked, to_napi};
use crate::wal::NativeWal;
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use walnut_core::{SegmentCache, Wal};

/// Marks the externals made by [`wal_raw_handle`], so that a callback never
/// takes another addon's external for a log.
const TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0x7761_6c6e_7574_5241, // "walnutRA"
    upper: 0x5748_414e_444c_4531, // "WHANDLE1"
};

/// What a handle made by [`wal_raw_handle`] points to: the log, and the
/// segment cache its reads go through. The cache needs no lock: N-API calls
/// every callback of a handle on the thread of the environment that made it.
struct Handle {
    wal: Arc<Wal>,
    cache: RefCell<SegmentCache>,
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the pointer `Box::into_raw` gave `wal_raw_handle`;
    // N-API calls this finalizer once, when the external is collected.
    drop(unsafe { Box::from_raw(data as *mut Handle) });
}

/// The raw-callback handle of a log: an external holding a reference to the
/// same core log as `wal`.
#[napi(ts_return_type = "ExternalObject<'WalRawHandle'>")]
pub fn wal_raw_handle<'env>(env: &'env Env, wal: &NativeWal) -> Result<Unknown<'env>> {
    let raw = Box::into_raw(Box::new(Handle {
        wal: wal.core().clone(),
        cache: RefCell::new(SegmentCache::new()),
    })) as *mut c_void;
    let mut value = ptr::null_mut();
    // SAFETY: plain N-API calls on the current env; `raw` is owned by the
    // external from here on (released by `release`), or reclaimed below.
    unsafe {
        let status =
            sys::napi_create_external(env.raw(), raw, Some(release), ptr::null_mut(), &mut value);
        if status != sys::Status::napi_ok {
            drop(Box::from_raw(raw as *mut Handle));
            return Err(Error::new(Status::from(status), "cannot create a handle"));
        }
        check(sys::napi_type_tag_object(env.raw(), value, &TAG))?;
        Ok(Unknown::from_raw_unchecked(env.raw(), value))
    }
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::from(status), "N-API call failed"))
    }
}

fn invalid_arg(what: &str) -> Error {
    crate::error::invalid(format!("{what} is not what the native call expects"))
}

/// The arguments of a call, read with one `napi_get_cb_info`.
unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<[sys::napi_value; N]> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: `argv` has room for `argc` values.
    check(unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    })?;
    if argc < N {
        return Err(invalid_arg("the argument list"));
    }
    Ok(argv)
}

/// The handle made by [`wal_raw_handle`] behind `value`. The reference is
/// valid during the callback: the handle is one of its arguments, so it
/// cannot be collected (and released) before the callback returns.
unsafe fn handle<'a>(env: sys::napi_env, value: sys::napi_value) -> Result<&'a Handle> {
    let mut tagged = false;
    // SAFETY: plain N-API calls on values of this callback.
    unsafe {
        let status = sys::napi_check_object_type_tag(env, value, &TAG, &mut tagged);
        // Not an object at all, or not one of ours.
        if status != sys::Status::napi_ok || !tagged {
            return Err(invalid_arg("the log handle"));
        }
        let mut data = ptr::null_mut();
        check(sys::napi_get_value_external(env, value, &mut data))?;
        Ok(&*(data as *const Handle))
    }
}

/// The bytes of a Uint8Array (a Buffer included), borrowed for the callback.
unsafe fn bytes<'a>(env: sys::napi_env, value: sys::napi_value) -> Result<&'a mut [u8]> {
    let mut kind = 0;
    let mut len = 0;
    let mut data = ptr::null_mut();
    // SAFETY: plain N-API call; the out-pointers are valid.
    check(unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    })
    .map_err(|_| invalid_arg("the data"))?;
    if kind != sys::TypedarrayType::uint8_array {
        return Err(invalid_arg("the data"));
    }
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: N-API reports `len` bytes at `data`, owned by JavaScript and
    // kept alive by the argument; no JavaScript runs until we return.
    Ok(unsafe { std::slice::from_raw_parts_mut(data as *mut u8, len) })
}

unsafe fn number(env: sys::napi_env, value: sys::napi_value) -> Result<f64> {
    let mut n = 0.0;
    // SAFETY: plain N-API call.
    check(unsafe { sys::napi_get_value_double(env, value, &mut n) })
        .map_err(|_| invalid_arg("the index"))?;
    Ok(n)
}

/// A byte offset into a buffer of `len` bytes: a whole number in `0..=len`.
unsafe fn offset(env: sys::napi_env, value: sys::napi_value, len: usize) -> Result<usize> {
    // SAFETY: forwarded from the caller (a valid env and value).
    let at = unsafe { number(env, value) }?;
    match crate::convert::whole(at) {
        Some(n) if n <= len as u64 => Ok(n as usize),
        _ => Err(invalid_arg("the offset")),
    }
}

/// Runs `f`, returning its number to JavaScript or throwing its error (or a
/// caught panic) the way napi-rs functions do.
unsafe fn respond(env: sys::napi_env, f: impl FnOnce() -> Result<f64>) -> sys::napi_value {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(panicked()));
    let mut out = ptr::null_mut();
    // SAFETY: plain N-API calls on the current env.
    unsafe {
        match result {
            Ok(n) => {
                if sys::napi_create_double(env, n, &mut out) != sys::Status::napi_ok {
                    out = ptr::null_mut();
                }
            }
            Err(e) => JsError::from(e).throw_into(env),
        }
    }
    out
}

/// `walAppendRaw(handle, data)`: appends one record, returns its index.
unsafe extern "C" fn append(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by N-API with a valid env and callback info.
    unsafe {
        respond(env, || {
            let [h, data] = args::<2>(env, info)?;
            let h = handle(env, h)?;
            let data = bytes(env, data)?;
            h.wal
                .append(data)
                .map(crate::convert::js_index)
                .map_err(to_napi)
        })
    }
}

/// `walReadIntoRaw(handle, index, dst, at)`: copies the payload of `index`
/// into `dst` at byte `at` when it fits there, and returns its length either
/// way (a larger length means nothing was copied).
unsafe extern "C" fn read_into(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by N-API with a valid env and callback info.
    unsafe {
        respond(env, || {
            let [h, i, dst, at] = args::<4>(env, info)?;
            let h = handle(env, h)?;
            let i = crate::convert::index(number(env, i)?, "index")?;
            let dst = bytes(env, dst)?;
            let at = offset(env, at, dst.len())?;
            h.wal
                .read_into(&mut h.cache.borrow_mut(), i, &mut dst[at..])
                .map(|len| len as f64)
                .map_err(to_napi)
        })
    }
}

/// `walReadRangeIntoRaw(handle, lo, hi, dst, at, lengths)`: copies the
/// payloads of records `lo..hi` into `dst` from byte `at` on, each starting
/// 8-byte aligned, and their lengths into `lengths` (the bytes of a
/// `Uint32Array`), stopping at the first that does not fit or when `lengths`
/// is full; returns how many were copied. A scan makes one call per chunk
/// instead of creating a Buffer per record.
unsafe extern "C" fn read_range_into(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by N-API with a valid env and callback info.
    unsafe {
        respond(env, || {
            let [h, lo, hi, dst, at, lengths] = args::<6>(env, info)?;
            let h = handle(env, h)?;
            let cache = &mut h.cache.borrow_mut();
            let lo = crate::convert::index(number(env, lo)?, "lo")?;
            let hi = crate::convert::index(number(env, hi)?, "hi")?;
            let dst = bytes(env, dst)?;
            let at = offset(env, at, dst.len())?;
            let lengths = bytes(env, lengths)?;
            // Two views of one buffer would be two `&mut` to the same bytes.
            let (d, l) = (dst.as_ptr_range(), lengths.as_ptr_range());
            if !dst.is_empty() && !lengths.is_empty() && d.start < l.end && l.start < d.end {
                return Err(invalid_arg("the lengths (they overlap the data)"));
            }
            let mut pos = at;
            let mut n = 0;
            for i in lo..hi {
                let Some(slot) = lengths.get_mut(n * 4..n * 4 + 4) else {
                    break;
                };
                let copied = h
                    .wal
                    .with_entry_cached(cache, i, |_, data| {
                        let room = dst.len() - pos.min(dst.len());
                        (data.len() <= room).then(|| {
                            dst[pos..pos + data.len()].copy_from_slice(data);
                            data.len()
                        })
                    })
                    .map_err(to_napi)?;
                let Some(len) = copied else { break };
                slot.copy_from_slice(&(len as u32).to_le_bytes());
                pos = (pos + len + 7) & !7;
                n += 1;
            }
            Ok(n as f64)
        })
    }
}

/// `walReleaseSegmentsRaw(handle)`: lets go of the segments the handle's
/// reads hold, for when the log is closed, truncated or rotated (their mappings, and
/// the disk space of removed ones, are returned now rather than at the next
/// read or when the handle is collected).
unsafe extern "C" fn release_segments(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by N-API with a valid env and callback info.
    unsafe {
        respond(env, || {
            let [h] = args::<1>(env, info)?;
            handle(env, h)?.cache.borrow_mut().clear();
            Ok(0.0)
        })
    }
}

/// `benchNoopRaw(data)`: returns the length of a Uint8Array, through the same
/// raw path as the callbacks above. The benchmark's floor for a native call
/// taking a Buffer (napi-rs's `benchNoop` costs more than `walReadIntoRaw`
/// of a cached record, so it cannot be the floor).
unsafe extern "C" fn noop(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by N-API with a valid env and callback info.
    unsafe {
        respond(env, || {
            let [data] = args::<1>(env, info)?;
            Ok(bytes(env, data)?.len() as f64)
        })
    }
}

/// Adds the raw callbacks to the module's exports.
#[napi(module_exports)]
pub fn raw_exports(mut exports: Object, env: Env) -> Result<()> {
    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;
    let list: [(&str, Callback); 5] = [
        ("walAppendRaw", append),
        ("walReadIntoRaw", read_into),
        ("walReadRangeIntoRaw", read_range_into),
        ("walReleaseSegmentsRaw", release_segments),
        ("benchNoopRaw", noop),
    ];
    for (name, cb) in list {
        let mut f = ptr::null_mut();
        // SAFETY: `name` is valid for `name.len()` bytes; `cb` is a valid callback.
        check(unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr().cast(),
                name.len() as isize,
                Some(cb),
                ptr::null_mut(),
                &mut f,
            )
        })?;
        // SAFETY: `f` was just created on this env.
        exports.set_named_property(name, unsafe { Unknown::from_raw_unchecked(env.raw(), f) })?;
    }
    Ok(())
}
