//! Core errors as JavaScript errors. The message is a JSON document carrying
//! the stable code and structured details; the TypeScript layer turns it into
//! the matching `WalError` subclass.

use walnut_core::Error;

/// A napi error carrying a walnut error.
pub fn to_napi(e: Error) -> napi::Error {
    let details = match &e {
        Error::Corrupt(d) => format!(
            r#","file":{},"offset":{},"index":{},"reason":{}"#,
            json_str(&d.file),
            d.offset,
            d.index,
            json_str(&d.reason)
        ),
        Error::OutOfRange { index, first, last } => {
            format!(r#","index":{index},"first":{first},"last":{last}"#)
        }
        Error::RecordTooLarge { size, max } => format!(r#","size":{size},"max":{max}"#),
        Error::RaftCompacted { index, first } => format!(r#","index":{index},"first":{first}"#),
        Error::RaftUnavailable { index, last } | Error::RaftLogGap { index, last } => {
            format!(r#","index":{index},"last":{last}"#)
        }
        Error::RaftSnapshotOutOfDate { index, current } => {
            format!(r#","index":{index},"current":{current}"#)
        }
        _ => String::new(),
    };
    coded(e.code(), &e.to_string(), &details)
}

/// An invalid-argument error raised by the binding itself.
pub fn invalid(msg: impl AsRef<str>) -> napi::Error {
    coded("ERR_WAL_INVALID_ARGUMENT", msg.as_ref(), "")
}

/// The error for a panic caught at the boundary.
pub fn panicked() -> napi::Error {
    coded(
        "ERR_WAL_INTERNAL",
        "internal error (a panic was caught); the log handle may be unusable",
        "",
    )
}

fn coded(code: &str, message: &str, details: &str) -> napi::Error {
    napi::Error::new(
        napi::Status::GenericFailure,
        format!(
            r#"{{"walnut":1,"code":{},"message":{}{details}}}"#,
            json_str(code),
            json_str(message)
        ),
    )
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Converts a core result.
pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for walnut_core::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_are_valid_json_even_with_quotes_and_control_characters() {
        let e = super::invalid("bad \"dir\"\n\\x");
        assert_eq!(
            e.reason,
            r#"{"walnut":1,"code":"ERR_WAL_INVALID_ARGUMENT","message":"bad \"dir\"\u000a\\x"}"#
        );
    }
}
