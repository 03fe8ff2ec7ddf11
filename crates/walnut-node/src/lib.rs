//! The Node.js binding of walnut: a thin layer that maps calls and errors of
//! `walnut-core` to JavaScript. The TypeScript package (`src/` at the
//! repository root) wraps it with promises, typed errors and iterators; use
//! that, not this module, from applications.
//!
//! Rules this crate keeps:
//! * every exported function catches panics (`catch_unwind`), so a bug becomes
//!   an error, never an abort of Node;
//! * nothing that may fsync runs on the libuv thread pool: synchronous calls
//!   run on the JS thread by design (`sync: 'always'`), asynchronous ones on a
//!   thread of their own or on the log's sync thread;
//! * buffers from JavaScript are copied before any work leaves the JS thread.

// Exported functions are reached only through napi's registration, which the
// unit-test build of this crate does not count as a use.
#![cfg_attr(test, allow(dead_code))]

mod bench;
mod convert;
mod error;
mod fast;
mod inspect;
mod memory;
mod raft;
mod raw;
mod wal;
