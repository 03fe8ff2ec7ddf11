//! Random sequences of operations checked against a model (a plain vector of
//! records), with reopens and simulated power loss in the mix.
//!
//! After a crash the model keeps what was durable and accepts any prefix of
//! what was not: the log must hold every durable record, byte-identical,
//! followed only by records that were really appended in that order.

mod common;

use common::{small, Place};
use proptest::prelude::*;
use walnut_core::{Options, Wal};

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Batch(usize, usize),
    Sync,
    Read(usize),
    TruncateAfter(usize),
    TruncateBefore(usize),
    Reopen,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..900).prop_map(Op::Append),
        2 => (1usize..12, 0usize..500).prop_map(|(n, l)| Op::Batch(n, l)),
        2 => Just(Op::Sync),
        3 => any::<usize>().prop_map(Op::Read),
        1 => any::<usize>().prop_map(Op::TruncateAfter),
        1 => any::<usize>().prop_map(Op::TruncateBefore),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

struct Model {
    first: u64,
    records: Vec<Vec<u8>>, // records[k] has index first + k
    durable: u64,
    counter: u64,
}

impl Model {
    fn last(&self) -> u64 {
        self.first + self.records.len() as u64 - 1
    }
    fn payload(&mut self, len: usize) -> Vec<u8> {
        self.counter += 1;
        let c = self.counter;
        (0..len).map(|j| (c as usize * 131 + j * 7) as u8).collect()
    }
    fn pick(&self, raw: usize) -> u64 {
        // Anything from first - 1 to last + 1, to exercise the edges.
        self.first - 1 + (raw as u64 % (self.records.len() as u64 + 3))
    }
}

fn opts() -> Options {
    small()
}

fn check(wal: &Wal, m: &Model) {
    assert_eq!(wal.first_index(), m.first, "first index");
    assert_eq!(wal.last_index(), m.last(), "last index");
    for (k, rec) in m.records.iter().enumerate() {
        let i = m.first + k as u64;
        assert_eq!(&wal.read(i).unwrap().data, rec, "record {i}");
    }
}

fn run(ops: Vec<Op>) {
    let mut place = Place::memory();
    let mut wal = place.open(opts()).unwrap();
    let mut m = Model {
        first: 1,
        records: Vec::new(),
        durable: 0,
        counter: 0,
    };
    for op in ops {
        match op {
            Op::Append(len) => {
                let p = m.payload(len);
                assert_eq!(wal.append(&p).unwrap(), m.last() + 1);
                m.records.push(p);
            }
            Op::Batch(n, len) => {
                let items: Vec<Vec<u8>> = (0..n).map(|_| m.payload(len)).collect();
                match wal.append_batch(&items) {
                    Ok(first) => {
                        assert_eq!(first, m.last() + 1);
                        m.records.extend(items);
                    }
                    Err(walnut_core::Error::RecordTooLarge { .. }) => {}
                    Err(e) => panic!("batch failed: {e}"),
                }
            }
            Op::Sync => {
                assert_eq!(wal.sync().unwrap(), m.last().max(wal.durable_index()));
                m.durable = m.last();
            }
            Op::Read(raw) => {
                let i = m.pick(raw);
                match wal.read(i) {
                    Ok(e) => assert_eq!(e.data, m.records[(i - m.first) as usize]),
                    Err(walnut_core::Error::OutOfRange { .. }) => {
                        assert!(i < m.first || i > m.last(), "index {i} should be readable")
                    }
                    Err(e) => panic!("read {i}: {e}"),
                }
            }
            Op::TruncateAfter(raw) => {
                let i = m.pick(raw);
                wal.truncate_after(i).unwrap();
                if i < m.last() {
                    m.records.truncate((i + 1 - m.first) as usize);
                    m.durable = m.durable.min(i);
                }
            }
            Op::TruncateBefore(raw) => {
                let i = m.pick(raw);
                wal.truncate_before(i).unwrap();
                if i > m.first {
                    let drop = ((i - m.first) as usize).min(m.records.len());
                    m.records.drain(..drop);
                    m.first = i;
                }
            }
            Op::Reopen => {
                wal.close().unwrap();
                drop(wal);
                wal = place.open(opts()).unwrap();
                m.durable = m.last();
                check(&wal, &m);
            }
            Op::Crash => {
                m.durable = m.durable.max(wal.durable_index());
                let after = place.crashed();
                drop(wal);
                place = after;
                wal = place.open(opts()).unwrap();
                // Every durable record survives; beyond that, a prefix may.
                assert!(wal.last_index() >= m.durable, "durable records lost");
                assert!(
                    wal.last_index() <= m.last(),
                    "records appeared from nowhere"
                );
                m.records
                    .truncate((wal.last_index() + 1 - m.first) as usize);
                m.durable = m.last();
                check(&wal, &m);
            }
        }
    }
    check(&wal, &m);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var("WALNUT_LONG").is_ok() { 2000 } else { 96 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_log_behaves_like_a_vector_of_records(ops in proptest::collection::vec(op(), 1..120)) {
        run(ops);
    }
}
