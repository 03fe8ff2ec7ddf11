//! What lies after the end of a log's frames in its last segment: leftovers
//! of a crash (nonzero bytes, and valid frames that attest to durability), or
//! nothing.
//!
//! After a crash that space is usually zero to the end of the file (it was
//! preallocated and prefaulted ahead of the writer), and every byte of it is
//! read: tens of MiB in a large segment. That read is bound by one core's
//! memory bandwidth (a torn 64 MiB segment: 47 MiB of zeros in 6 ms of its
//! 12 ms recovery), so a large space is first searched for its last nonzero
//! page from both halves at once, and only the bytes before that page are
//! examined word by word.

use crate::frame::{self, FrameHeader, Parsed};

/// What lies in the space after the end of a log.
#[derive(Default)]
pub(super) struct Beyond {
    /// End of the last nonzero 8-byte word (0: all zero).
    pub dirty_end: usize,
    /// The highest index that a valid frame found there attests to.
    pub max_attest: Option<u64>,
}

const PAGE: usize = 4096;

/// What zero space is compared against: a slice comparison is a vectorised
/// `memcmp`, several times faster than testing byte by byte.
static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

/// Below this many bytes a second thread costs more than it saves.
const SPLIT_ABOVE: usize = 8 << 20;

/// Looks for leftovers in `bytes[from..]`: nonzero bytes, and valid frames
/// (with indexes from `next` on) that attest to durability. The cheap filters
/// keep garbage from triggering checksums over huge lengths.
pub(super) fn beyond(bytes: &[u8], from: usize, seed: Option<u32>, next: u64) -> Beyond {
    let mut b = Beyond::default();
    let mut off = frame::align(from);
    // Nothing at or after `to` is nonzero, so no leftover starts there (a
    // frame that starts before it may still end after it).
    let to = nonzero_end(bytes, off);
    while off + 8 <= to {
        // Skip zero space a page at a time.
        let chunk_end = ((off / PAGE) + 1) * PAGE;
        let chunk_end = chunk_end.min(to);
        if bytes[off..chunk_end] == ZERO_PAGE[..chunk_end - off] {
            off = frame::align(chunk_end);
            continue;
        }
        if bytes[off..off + 8].iter().all(|&x| x == 0) {
            off += 8;
            continue;
        }
        b.dirty_end = off + 8;
        if let Some(seed) = seed {
            if off + frame::HEADER_LEN <= bytes.len() {
                let h = FrameHeader::decode(&bytes[off..off + frame::HEADER_LEN]);
                let plausible = FrameHeader::plausible(&bytes[off..off + frame::HEADER_LEN])
                    && h.index >= next.saturating_sub(1)
                    && h.index - next.saturating_sub(1) < 1 << 32;
                if plausible {
                    if let Parsed::Valid(h) = frame::parse(bytes, off, seed) {
                        b.max_attest = b.max_attest.max(h.attests());
                        let end = off + frame::frame_len(h.len as usize);
                        b.dirty_end = end;
                        off = end;
                        continue;
                    }
                }
            }
        }
        off += 8;
    }
    b
}

/// The end of the last page of `bytes[from..]` holding a nonzero byte, or
/// `from` when all of it is zero. Pages are counted from `from`.
fn nonzero_end(bytes: &[u8], from: usize) -> usize {
    let len = bytes.len().max(from);
    if len - from <= SPLIT_ABOVE {
        return last_nonzero_page_end(bytes, from);
    }
    let mid = from + (len - from) / 2 / PAGE * PAGE;
    std::thread::scope(|s| {
        let upper = s.spawn(|| last_nonzero_page_end(bytes, mid));
        let lower = last_nonzero_page_end(&bytes[..mid], from);
        // The upper half decides when it holds anything.
        match upper.join() {
            Ok(end) if end > mid => end,
            Ok(_) => lower,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// [`nonzero_end`] on this thread, from the end backwards: leftovers sit just
/// after the frames, so the zeros above them are the bulk of the work either
/// way, and going down stops at the first page that is not zero.
fn last_nonzero_page_end(bytes: &[u8], from: usize) -> usize {
    let mut end = bytes.len();
    while end > from {
        let start = from + (end - from - 1) / PAGE * PAGE;
        if bytes[start..end] != ZERO_PAGE[..end - start] {
            return end;
        }
        end = start;
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of the last page (counted from `from`) with a nonzero byte,
    /// computed byte by byte.
    fn reference(bytes: &[u8], from: usize) -> usize {
        match bytes[from..].iter().rposition(|&b| b != 0) {
            Some(i) => (from + (i / PAGE + 1) * PAGE).min(bytes.len()),
            None => from,
        }
    }

    #[test]
    fn the_nonzero_end_is_found_wherever_the_last_nonzero_byte_is_on_either_thread() {
        // Large enough to be split between two threads, with an odd start and
        // a length that is not a multiple of the page.
        let len = SPLIT_ABOVE * 2 + 1000;
        let from = 12_344;
        let mid = from + (len - from) / 2 / PAGE * PAGE;
        let mut bytes = vec![0u8; len];
        assert_eq!(nonzero_end(&bytes, from), from, "all zero");
        for at in [
            from,
            from + 1,
            mid - 1,
            mid,
            mid + 1,
            len - 1,
            from + PAGE * 3 + 17,
        ] {
            bytes[at] = 0x5a;
            assert_eq!(
                nonzero_end(&bytes, from),
                reference(&bytes, from),
                "one byte at {at}"
            );
            bytes[at] = 0;
        }
        // Bytes in both halves: the upper one wins.
        bytes[from + 40] = 1;
        bytes[mid + 5000] = 1;
        assert_eq!(nonzero_end(&bytes, from), reference(&bytes, from));
        // Nonzero bytes before `from` are not looked at.
        bytes.fill(0);
        bytes[from - 1] = 1;
        assert_eq!(nonzero_end(&bytes, from), from);
    }

    #[test]
    fn a_small_space_is_searched_the_same_way_on_one_thread() {
        let mut bytes = vec![0u8; 3 * PAGE + 100];
        for at in [8, PAGE, 3 * PAGE + 99] {
            bytes[at] = 7;
            assert_eq!(
                nonzero_end(&bytes, 8),
                reference(&bytes, 8),
                "one byte at {at}"
            );
            bytes[at] = 0;
        }
        assert_eq!(nonzero_end(&bytes, bytes.len()), bytes.len(), "empty space");
    }

    #[test]
    fn a_nonzero_word_at_the_top_of_a_large_space_is_a_leftover() {
        let len = SPLIT_ABOVE * 2;
        let mut bytes = vec![0u8; len];
        let from = 4096;
        assert_eq!(beyond(&bytes, from, None, 1).dirty_end, 0);
        bytes[len - 3] = 0xff;
        assert_eq!(beyond(&bytes, from, None, 1).dirty_end, len);
        bytes[len - 3] = 0;
        bytes[from + 9] = 0xff;
        assert_eq!(beyond(&bytes, from, None, 1).dirty_end, from + 16);
    }

    #[test]
    fn a_valid_frame_in_the_upper_half_of_a_large_space_attests_to_durability() {
        let seed = frame::seed(42);
        let len = SPLIT_ABOVE * 2;
        let mut bytes = vec![0u8; len];
        let payload = [9u8; 100];
        // Index 20 written with lag 3: it proves index 17 durable.
        let header = FrameHeader {
            index: 20,
            lag: 3,
            ..FrameHeader::default()
        };
        let at = len - 3 * PAGE - 64;
        bytes[at..at + frame::HEADER_LEN]
            .copy_from_slice(&frame::seal_header(seed, header, &payload));
        bytes[at + frame::HEADER_LEN..at + frame::HEADER_LEN + payload.len()]
            .copy_from_slice(&payload);
        let b = beyond(&bytes, 4096, Some(seed), 17);
        assert_eq!(
            b.max_attest,
            Some(17),
            "the attestation after the torn write"
        );
        assert_eq!(b.dirty_end, at + frame::frame_len(payload.len()));
    }
}
