//! The body of every refusal.

use serde::{Deserialize, Serialize};

/// `{"error": "message"}`: what a 4xx or 5xx answer carries. The message
/// says what to do; a 500's message says nothing about the cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
}

impl ErrorBody {
    /// A body with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorBody {
            error: message.into(),
        }
    }
}
