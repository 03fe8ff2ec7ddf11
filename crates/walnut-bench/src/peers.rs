//! The peers: tikv's raft-engine and okaywal, opened as the benchmarks use
//! them.

use std::io;
use std::path::Path;

/// raft-engine stores protobuf Raft entries; this names the entry type.
pub struct RaftEntries;

impl raft_engine::MessageExt for RaftEntries {
    type Entry = raft::eraftpb::Entry;

    fn index(e: &Self::Entry) -> u64 {
        e.index
    }
}

/// A Raft entry holding `data` at `index`.
pub fn raft_entry(index: u64, data: &[u8]) -> raft::eraftpb::Entry {
    raft::eraftpb::Entry {
        index,
        term: 1,
        data: data.to_vec().into(),
        ..Default::default()
    }
}

/// raft-engine in `dir`, default configuration, no compression (records are
/// incompressible anyway, and walnut does not compress unless asked).
pub fn open_raft_engine(dir: &Path) -> raft_engine::Engine {
    let cfg = raft_engine::Config {
        dir: dir.to_string_lossy().into_owned(),
        batch_compression_threshold: raft_engine::ReadableSize(0),
        ..Default::default()
    };
    raft_engine::Engine::open(cfg).expect("open raft-engine")
}

/// An okaywal log manager that reads back every entry at recovery (so that
/// opening does the work walnut's open does) and checkpoints nothing away.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// Entries recovered.
    pub entries: u64,
}

impl okaywal::LogManager for ReadBack {
    fn recover(&mut self, entry: &mut okaywal::Entry<'_>) -> io::Result<()> {
        if let Some(chunks) = entry.read_all_chunks()? {
            self.entries += chunks.len() as u64;
        }
        Ok(())
    }

    fn checkpoint_to(
        &mut self,
        _last: okaywal::EntryId,
        _entries: &mut okaywal::SegmentReader,
        _wal: &okaywal::WriteAheadLog,
    ) -> io::Result<()> {
        Ok(())
    }
}

/// okaywal in `dir`. Checkpointing is pushed out of the way (1 GiB) so that
/// what was written stays in the log, as it does in walnut.
pub fn open_okaywal(dir: &Path) -> okaywal::WriteAheadLog {
    let mut cfg = okaywal::Configuration::default_for(dir);
    cfg.checkpoint_after_bytes = 1 << 30;
    cfg.open(ReadBack::default()).expect("open okaywal")
}

/// One okaywal entry of one chunk; returns once it is durable (okaywal
/// fsyncs every commit, grouping concurrent committers).
pub fn okaywal_write(wal: &okaywal::WriteAheadLog, data: &[u8]) {
    let mut entry = wal.begin_entry().expect("begin an okaywal entry");
    entry.write_chunk(data).expect("write an okaywal chunk");
    entry.commit().expect("commit an okaywal entry");
}
