//! How an unexpected error is told at every edge (the API, the portal, the
//! admin CLI, `main`): the whole cause chain on one line, so an operator
//! reads why, not just "storage failed".

use std::error::Error;

/// `error` and each of its sources, joined with ": ". A source whose text
/// the line already ends with (an error that prints its cause inside its
/// own message) is not repeated.
pub fn error_chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the database")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("storage failed")]
    struct Middle(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read it: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn every_cause_is_told_once() {
        let refused =
            || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(
            error_chain(&Outer(Middle(refused()))),
            "cannot open the database: storage failed: connection refused"
        );
        assert_eq!(
            error_chain(&Repeats(refused())),
            "cannot read it: connection refused"
        );
    }
}
