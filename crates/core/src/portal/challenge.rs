//! Security questions in the portal: choosing and answering them, and the
//! challenge that stands in for a lost token (S28–S30).

use zeroize::Zeroizing;

use super::{FullSession, PendingSession, PortalError, PortalSession, SessionId};
use crate::context::Latchkey;
use crate::model::{Answer, AuditAction, Outcome, Question, SessionStage};
use crate::ports::Store;
use crate::questions::normalise_answer;

impl<S: Store> Latchkey<S> {
    /// Whether the user still has to choose security questions.
    pub async fn portal_needs_answers(&self, session: &PortalSession) -> Result<bool, PortalError> {
        Ok(self.store.answers_of(session.user.id).await?.len() < self.portal().questions_to_answer)
    }

    /// The active questions users may choose from.
    pub async fn portal_question_pool(&self) -> Result<Vec<Question>, PortalError> {
        Ok(self
            .store
            .questions()
            .await?
            .into_iter()
            .filter(|q| q.active)
            .collect())
    }

    /// The questions to ask this user now: the ones asked before and not
    /// yet answered, else a fresh random choice, remembered (S30).
    pub async fn portal_challenge(
        &self,
        session: &PendingSession,
    ) -> Result<Vec<Question>, PortalError> {
        let wanted = self.portal().questions_asked;
        for _ in 0..3 {
            let answers = self.store.answers_of(session.user.id).await?;
            if answers.len() < wanted {
                return Err(PortalError::NoAnswers);
            }
            let asked: Vec<i64> = answers
                .iter()
                .filter(|a| a.asked)
                .map(|a| a.question_id)
                .collect();
            let ids = if asked.is_empty() {
                let mut ids: Vec<i64> = answers.iter().map(|a| a.question_id).collect();
                {
                    // The thread's generator must not live across an await.
                    let mut rng = rand::rng();
                    for i in 0..wanted {
                        let j = rand::RngExt::random_range(&mut rng, i..ids.len());
                        ids.swap(i, j);
                    }
                }
                ids.truncate(wanted);
                if !self.store.mark_asked(session.user.id, ids.clone()).await? {
                    continue; // another challenge chose first; ask those
                }
                ids
            } else {
                asked
            };
            let pool = self.store.questions().await?;
            let mut questions: Vec<Question> =
                pool.into_iter().filter(|q| ids.contains(&q.id)).collect();
            questions.sort_by_key(|q| q.id);
            return Ok(questions);
        }
        Err(PortalError::NoAnswers)
    }

    /// Checks the answers to the challenge, in the order of
    /// [`Latchkey::portal_challenge`]. All must match. Success opens a
    /// recovery session (S28) and is a complete success (S44); failure
    /// counts toward the account's throttle like a wrong password (S30),
    /// and toward the answers' own count, which nothing but the right
    /// answers or a complete sign-in clears (S44).
    #[tracing::instrument(level = "debug", skip_all, fields(source = %source))]
    pub async fn portal_answer_challenge(
        &self,
        session: &PendingSession,
        given: Vec<Zeroizing<String>>,
        source: &str,
    ) -> Result<SessionId, PortalError> {
        let actor = session.actor(source);
        let user = &session.user;
        let subject = user.username.as_str();
        let now = self.now();
        // The throttle as of now, not as of the password step.
        let user = self
            .store
            .user_by_id(user.id)
            .await?
            .ok_or(PortalError::SessionEnded)?;
        let mut asked: Vec<Answer> = self
            .store
            .answers_of(user.id)
            .await?
            .into_iter()
            .filter(|a| a.asked)
            .collect();
        asked.sort_by_key(|a| a.question_id);
        if asked.is_empty() {
            return Err(PortalError::NoAnswers);
        }
        let blocked_until = user.password_blocked_until.max(user.answer_blocked_until);
        if blocked_until > now {
            let detail = format!("throttled for {} s more", blocked_until - now);
            self.store
                .append(self.event(
                    &actor,
                    AuditAction::QuestionsVerify,
                    subject,
                    Outcome::Denied,
                    detail,
                ))
                .await?;
            return Err(PortalError::AnswersRefused);
        }
        // Every answer is hashed even after a mismatch, so timing does not
        // tell which one was wrong.
        let mut all_match = given.len() == asked.len();
        for (index, answer) in asked.iter().enumerate() {
            let text = given
                .get(index)
                .map(|g| normalise_answer(g))
                .unwrap_or_default();
            let ok = self
                .hasher
                .verify(Zeroizing::new(text), Some(answer.answer_hash.clone()))
                .await;
            all_match &= ok;
        }
        if !all_match {
            let event = self.event(
                &actor,
                AuditAction::QuestionsVerify,
                subject,
                Outcome::Failure,
                "",
            );
            self.store
                .record_answer_failure(
                    user.id,
                    now,
                    self.policy.password_throttle,
                    self.policy.answer_throttle,
                    event,
                )
                .await?;
            return Err(PortalError::AnswersRefused);
        }
        self.complete_success(&user).await?;
        self.store
            .clear_asked(
                user.id,
                self.event(
                    &actor,
                    AuditAction::QuestionsVerify,
                    subject,
                    Outcome::Success,
                    "",
                ),
            )
            .await?;
        let event = self.event(
            &actor,
            AuditAction::PortalRecovery,
            subject,
            Outcome::Success,
            "password and security questions",
        );
        self.open_session(
            &user,
            SessionStage::Recovery,
            session.created_at,
            Some(session.id_hash.clone()),
            event,
        )
        .await
    }

    /// Stores the user's choice of questions and answers (a full session
    /// only: a recovery session cannot change them, S28).
    pub async fn portal_set_answers(
        &self,
        session: &FullSession,
        choices: Vec<(String, Zeroizing<String>)>,
        source: &str,
    ) -> Result<(), PortalError> {
        let wanted = self.portal().questions_to_answer;
        let pool = self.portal_question_pool().await?;
        let mut chosen: Vec<(i64, String)> = Vec::with_capacity(wanted);
        let fields = [
            "question_1",
            "question_2",
            "question_3",
            "question_4",
            "question_5",
        ];
        let answer_fields = ["answer_1", "answer_2", "answer_3", "answer_4", "answer_5"];
        if choices.len() != wanted {
            return Err(PortalError::field(
                "question_1",
                format!("Choose {wanted} questions and answer each."),
            ));
        }
        for (index, (question, answer)) in choices.into_iter().enumerate() {
            let field = fields.get(index).copied().unwrap_or("question_1");
            let answer_field = answer_fields.get(index).copied().unwrap_or("answer_1");
            let id: i64 = question
                .parse()
                .ok()
                .filter(|id| pool.iter().any(|q| q.id == *id))
                .ok_or_else(|| PortalError::field(field, "Choose a question from the list."))?;
            if chosen.iter().any(|(other, _)| *other == id) {
                return Err(PortalError::field(
                    field,
                    "Choose a different question for each answer.",
                ));
            }
            let normalised = normalise_answer(&answer);
            if normalised.chars().count() < 2 {
                return Err(PortalError::field(
                    answer_field,
                    "Give an answer of at least two letters or digits.",
                ));
            }
            if normalised.chars().count() > 200 {
                return Err(PortalError::field(
                    answer_field,
                    "Give an answer of at most 200 characters.",
                ));
            }
            chosen.push((id, normalised));
        }
        let mut hashed = Vec::with_capacity(chosen.len());
        for (id, answer) in chosen {
            hashed.push((id, self.hasher.hash(Zeroizing::new(answer)).await));
        }
        let event = self.event(
            &session.actor(source),
            AuditAction::QuestionsSet,
            session.user.username.as_str(),
            Outcome::Success,
            format!("{} answers", hashed.len()),
        );
        self.store
            .set_answers(session.user.id, hashed, event)
            .await?;
        Ok(())
    }
}
