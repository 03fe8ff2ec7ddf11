//! The SIGBUS guard: another process truncating a segment file under its
//! mapping must not kill the process that has the log open.
//!
//! Touching a page of a shared file mapping that lies beyond the end of the
//! file raises `SIGBUS`, whose default action ends the process (a Node
//! process, with no JavaScript error to catch). The directory lock keeps
//! cooperating processes away, but nothing stops `truncate(1)` or a careless
//! script. So walnut installs, once per process, a `SIGBUS` handler that
//! looks the faulting address up in a table of walnut's own mappings. If it
//! lies in one, the handler maps an anonymous zero page over the faulting
//! page (`MAP_FIXED`), marks that mapping *failed* and returns: the faulting
//! load or store completes on the zero page, the frame's checksum then fails
//! (a typed `Corrupt` error for a read) and the next sync of that file fails
//! (poisoning the handle: data stored into the zero page never reaches the
//! file). Faults anywhere else go to the handler that was installed before,
//! or kill the process as they would have without walnut.
//!
//! The table is a fixed array of slots with atomic fields: the handler only
//! loads atomics, calls `mmap` (a plain system call) and stores a flag, which
//! is all a signal handler may safely do. A mapping that finds the table full
//! is simply not guarded. Setting `WALNUT_NO_SIGBUS_GUARD=1` in the
//! environment leaves the process's signal handlers alone.
//!
//! This is the only module of walnut that installs a signal handler; all of
//! its `unsafe` is here. It is installed on Linux only for now (elsewhere
//! mappings work unguarded).

#[cfg(target_os = "linux")]
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

/// Mappings guarded at once (each segment and metadata file of each open log
/// takes one). Beyond this, mappings work but are not guarded.
const SLOTS: usize = 4096;

const FREE: u8 = 0;
const BUSY: u8 = 1;
const LIVE: u8 = 2;

struct Slot {
    state: AtomicU8,
    start: AtomicUsize,
    len: AtomicUsize,
    failed: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array below
const EMPTY: Slot = Slot {
    state: AtomicU8::new(FREE),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    failed: AtomicBool::new(false),
};

static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
#[cfg(target_os = "linux")]
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
/// The handler that was in place before ours (leaked, written once).
#[cfg(target_os = "linux")]
static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());

/// Registration of one mapped range; unregisters when dropped. Drop it
/// before unmapping the range.
#[derive(Debug)]
pub struct Guard {
    slot: Option<usize>,
}

impl Guard {
    /// Guards `len` bytes at `start` (a mapping walnut owns).
    pub fn register(start: *const u8, len: usize) -> Guard {
        install();
        if !INSTALLED.load(Ordering::Acquire) || len == 0 {
            return Guard { slot: None };
        }
        for (i, s) in TABLE.iter().enumerate() {
            if s.state
                .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                s.start.store(start as usize, Ordering::Relaxed);
                s.len.store(len, Ordering::Relaxed);
                s.failed.store(false, Ordering::Relaxed);
                // Release: the handler that sees LIVE sees the range too.
                s.state.store(LIVE, Ordering::Release);
                return Guard { slot: Some(i) };
            }
        }
        Guard { slot: None }
    }

    /// Whether a page of this mapping was replaced after a fault: its file
    /// shrank under it, and what the mapping shows is no longer the file.
    pub fn failed(&self) -> bool {
        self.slot
            .is_some_and(|i| TABLE[i].failed.load(Ordering::Acquire))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let s = &TABLE[i];
            s.state.store(BUSY, Ordering::Release);
            s.len.store(0, Ordering::Relaxed);
            s.state.store(FREE, Ordering::Release);
        }
    }
}

/// Other systems: the guard is not installed (mappings work unguarded).
#[cfg(not(target_os = "linux"))]
fn install() {
    INSTALL.call_once(|| {});
}

#[cfg(target_os = "linux")]
fn install() {
    INSTALL.call_once(|| {
        if std::env::var_os("WALNUT_NO_SIGBUS_GUARD").is_some_and(|v| v != "0" && !v.is_empty()) {
            return;
        }
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE_SIZE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction is a valid value to fill in; the handler
        // has the signature SA_SIGINFO requires; `old` is written by the kernel.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let old = Box::into_raw(Box::new(std::mem::zeroed::<libc::sigaction>()));
            if libc::sigaction(libc::SIGBUS, &action, old) == 0 {
                PREVIOUS.store(old, Ordering::Release);
                INSTALLED.store(true, Ordering::Release);
            } else {
                drop(Box::from_raw(old));
            }
        }
    });
}

/// The signal handler. Async-signal-safe: atomics, `mmap` and `sigaction` only.
#[cfg(target_os = "linux")]
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    for s in TABLE.iter() {
        if s.state.load(Ordering::Acquire) != LIVE {
            continue;
        }
        let start = s.start.load(Ordering::Relaxed);
        let len = s.len.load(Ordering::Relaxed);
        if addr < start || addr - start >= len {
            continue;
        }
        let at = addr & !(page - 1);
        // SAFETY: `at` is a page inside a live mapping walnut owns (the slot
        // is unregistered before the mapping is unmapped, and a mapping that
        // is being accessed is not being unmapped). Replacing that one page
        // with anonymous zero memory changes nothing outside the mapping.
        let r = unsafe {
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            s.failed.store(true, Ordering::Release);
            return;
        }
        break;
    }
    chain(sig, info, ctx);
}

/// Hands a fault that is not ours to the previous handler, or restores the
/// default action so that returning re-raises the fault as before walnut.
#[cfg(target_os = "linux")]
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let prev = PREVIOUS.load(Ordering::Acquire);
    // SAFETY: `prev` was written once by `install` before the handler could
    // run and is never freed; calling the previous handler with the arguments
    // we received is what the kernel would have done without us.
    unsafe {
        let handler = if prev.is_null() {
            libc::SIG_DFL
        } else {
            (*prev).sa_sigaction
        };
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // SIGBUS from a fault cannot be ignored: the instruction would
            // fault forever. Restore the default and let it fault again.
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        } else if (*prev).sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            f(sig);
        }
    }
}
