//! The portal's port on the fake: sessions, questions, answers, reset links.

use latchkey_core::*;

use super::{MemoryStore, ResetLink, conflict, missing};

impl PortalStore for MemoryStore {
    async fn insert_session(
        &self,
        session: NewSession,
        previous: Option<Vec<u8>>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        if !s.users.contains_key(&session.user_id) {
            return Err(missing("user"));
        }
        let replaced = previous.as_ref().is_some_and(|p| *p == session.id_hash);
        if s.sessions.contains_key(&session.id_hash) && !replaced {
            return Err(conflict("session"));
        }
        if let Some(previous) = previous {
            s.sessions.remove(&previous);
        }
        s.sessions.insert(
            session.id_hash.clone(),
            WebSession {
                id_hash: session.id_hash,
                user_id: session.user_id,
                stage: session.stage,
                created_at: session.created_at,
                last_seen: session.last_seen,
            },
        );
        s.append(event);
        Ok(())
    }

    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<WebSession>> {
        Ok(self.lock().sessions.get(id_hash).cloned())
    }

    async fn touch_session(&self, id_hash: &[u8], now: i64) -> StoreResult<()> {
        if let Some(session) = self.lock().sessions.get_mut(id_hash) {
            session.last_seen = now;
        }
        Ok(())
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()> {
        self.lock().sessions.remove(id_hash);
        Ok(())
    }

    async fn delete_sessions_of_user(
        &self,
        user_id: i64,
        keep: Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        let mut s = self.lock();
        let before = s.sessions.len();
        s.sessions
            .retain(|id, session| session.user_id != user_id || Some(id) == keep.as_ref());
        Ok((before - s.sessions.len()) as u64)
    }

    async fn revoke_oidc_grants_of_user(
        &self,
        _user_id: i64,
        _keep_sid: Option<String>,
        _event: impl FnOnce(u64) -> AuditEvent + Send + 'static,
    ) -> StoreResult<u64> {
        // This store keeps no OIDC provider: there are no grants to revoke.
        Ok(0)
    }

    async fn questions(&self) -> StoreResult<Vec<Question>> {
        Ok(self.lock().questions.values().cloned().collect())
    }

    async fn insert_question(&self, text: String, event: AuditEvent) -> StoreResult<i64> {
        let mut s = self.lock();
        if s.questions.values().any(|q| q.text == text) {
            return Err(conflict(format!("question {text:?}")));
        }
        let id = s.new_id();
        s.questions.insert(
            id,
            Question {
                id,
                text,
                active: true,
            },
        );
        s.append(event);
        Ok(id)
    }

    async fn retire_question(&self, id: i64, event: AuditEvent) -> StoreResult<bool> {
        let mut s = self.lock();
        let changed = match s.questions.get_mut(&id) {
            Some(q) if q.active => {
                q.active = false;
                true
            }
            _ => false,
        };
        Ok(s.audit_if(changed, event))
    }

    async fn answers_of(&self, user_id: i64) -> StoreResult<Vec<Answer>> {
        Ok(self
            .lock()
            .answers
            .range((user_id, i64::MIN)..=(user_id, i64::MAX))
            .map(|(_, a)| a.clone())
            .collect())
    }

    async fn set_answers(
        &self,
        user_id: i64,
        answers: Vec<(i64, String)>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        // Checked before anything changes: a refused list changes nothing,
        // as a rolled-back transaction.
        if !s.users.contains_key(&user_id) {
            return Err(missing("user"));
        }
        for (i, (question_id, _)) in answers.iter().enumerate() {
            if !s.questions.contains_key(question_id) {
                return Err(missing("question"));
            }
            if answers[..i].iter().any(|(q, _)| q == question_id) {
                return Err(conflict(format!("answer to question {question_id}")));
            }
        }
        s.answers.retain(|(user, _), _| *user != user_id);
        for (question_id, answer_hash) in answers {
            s.answers.insert(
                (user_id, question_id),
                Answer {
                    question_id,
                    answer_hash,
                    asked: false,
                },
            );
        }
        s.append(event);
        Ok(())
    }

    async fn mark_asked(&self, user_id: i64, question_ids: Vec<i64>) -> StoreResult<bool> {
        let mut s = self.lock();
        let mine = (user_id, i64::MIN)..=(user_id, i64::MAX);
        if s.answers.range(mine.clone()).any(|(_, a)| a.asked) {
            return Ok(false);
        }
        for (&(_, question_id), answer) in s.answers.range_mut(mine) {
            if question_ids.contains(&question_id) {
                answer.asked = true;
            }
        }
        Ok(true)
    }

    async fn clear_asked(&self, user_id: i64, event: AuditEvent) -> StoreResult<()> {
        let mut s = self.lock();
        for (_, answer) in s
            .answers
            .range_mut((user_id, i64::MIN)..=(user_id, i64::MAX))
        {
            answer.asked = false;
        }
        s.append(event);
        Ok(())
    }

    async fn insert_reset_link(
        &self,
        token_hash: Vec<u8>,
        user_id: i64,
        expires_at: i64,
        since: i64,
        limit: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut s = self.lock();
        let made = s
            .reset_links
            .values()
            .filter(|l| l.user_id == user_id && l.created_at >= since)
            .count() as i64;
        if made >= limit {
            return Ok(false);
        }
        if s.reset_links.contains_key(&token_hash) {
            return Err(conflict("reset link"));
        }
        if !s.users.contains_key(&user_id) {
            return Err(missing("user"));
        }
        s.reset_links.insert(
            token_hash,
            ResetLink {
                user_id,
                created_at: event.at,
                expires_at,
                used: false,
            },
        );
        s.append(event);
        Ok(true)
    }

    async fn reset_link_user(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        Ok(self
            .lock()
            .reset_links
            .get(&token_hash)
            .filter(|l| !l.used && l.expires_at > now)
            .map(|l| l.user_id))
    }

    async fn take_reset_link(&self, token_hash: Vec<u8>, now: i64) -> StoreResult<Option<i64>> {
        Ok(self
            .lock()
            .reset_links
            .get_mut(&token_hash)
            .filter(|l| !l.used && l.expires_at > now)
            .map(|l| {
                l.used = true;
                l.user_id
            }))
    }

    async fn void_reset_links(&self, user_id: i64) -> StoreResult<u64> {
        let mut voided = 0;
        for link in self.lock().reset_links.values_mut() {
            if link.user_id == user_id && !link.used {
                link.used = true;
                voided += 1;
            }
        }
        Ok(voided)
    }
}
