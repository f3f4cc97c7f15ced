//! Security questions: the pool administrators manage, and how answers are
//! normalised before they are hashed or compared.

use unicode_normalization::UnicodeNormalization;

use crate::capability::Admin;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::{AuditAction, Outcome, Question, QuestionText};
use crate::ports::Store;

/// Answers match whatever the case, accents composed or not, spacing and
/// punctuation (S29): NFKC, lower case, punctuation dropped, runs of white
/// space made one space, trimmed.
pub fn normalise_answer(answer: &str) -> String {
    let folded: String = answer
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<S: Store> Latchkey<S> {
    /// The security-question pool.
    pub async fn list_questions(&self, _admin: &Admin) -> Result<Vec<Question>, AdminError> {
        Ok(self.store.questions().await?)
    }

    /// Adds a question to the pool users choose from.
    pub async fn add_question(&self, admin: &Admin, text: &str) -> Result<i64, AdminError> {
        let text = text.parse::<QuestionText>()?.into_string();
        if self.store.questions().await?.iter().any(|q| q.text == text) {
            return Err(AdminError::Exists(format!("the question {text:?}")));
        }
        let event = self.event(
            admin.actor(),
            AuditAction::QuestionsAdd,
            &text,
            Outcome::Success,
            "",
        );
        Ok(self.store.insert_question(text, event).await?)
    }

    /// Retires question `id`: no one may choose it any more; users who
    /// answered it keep their answers and may be asked it. Refused if the
    /// pool would keep fewer active questions than a user must choose.
    pub async fn retire_question(&self, admin: &Admin, id: i64) -> Result<(), AdminError> {
        let pool = self.store.questions().await?;
        let Some(question) = pool.iter().find(|q| q.id == id) else {
            return Err(AdminError::NoSuchQuestion(id));
        };
        if !question.active {
            return Err(AdminError::QuestionRetired(id));
        }
        let active = pool.iter().filter(|q| q.active).count();
        let wanted = self.policy.portal.questions_to_answer;
        if active <= wanted {
            return Err(AdminError::PoolTooSmall(wanted));
        }
        let event = self.event(
            admin.actor(),
            AuditAction::QuestionsRetire,
            &question.text,
            Outcome::Success,
            "",
        );
        if !self.store.retire_question(id, event).await? {
            return Err(AdminError::QuestionRetired(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_across_case_accents_spacing_and_punctuation() {
        assert_eq!(normalise_answer("Almería "), normalise_answer("almería"));
        // Decomposed "í" (i + combining acute) is the same answer (NFKC).
        assert_eq!(
            normalise_answer("Almeri\u{301}a"),
            normalise_answer("almería")
        );
        assert_eq!(normalise_answer("  St.  John's\tWood!"), "st john s wood");
        assert_ne!(normalise_answer("Almeria"), normalise_answer("Almería"));
    }
}
