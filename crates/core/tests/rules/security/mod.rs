//! The rules that close the findings of the black-box attack
//! (SECURITY-REVIEW.md): each test is named after its finding and carries
//! its SECURITY.md number (S44–…).

//!
//! One module a theme: the failure counts (H1, M2), the sessions and reset
//! links a clean-up ends (M3), who may touch a token (M1, M4), and the low
//! findings (names, mail addresses, the audit chain in pages).

mod failure_counts;
mod lows;
mod sessions;
mod tokens;

use super::*;

impl App {
    /// A user of `role` with a password, an e-mail address and an activated
    /// soft token; its serial and TOTP.
    async fn soft_token_user(&self, name: &str, role: Role) -> (Serial, Totp) {
        let (serial, totp, _) = self.user_with_soft_token_as(name, role).await;
        (serial, totp)
    }

    async fn session(&self, id: &SessionId) -> PortalSession {
        self.latchkey
            .portal_session(id.expose())
            .await
            .unwrap()
            .expect("the session is good")
    }

    /// A full portal session for `name`.
    async fn full_session(&self, name: &str, totp: &Totp) -> FullSession {
        let pending = self.pending_session(name).await;
        self.clock.advance(30);
        let id = self
            .latchkey
            .portal_second_factor(&pending, &totp.generate(self.clock.now()), SOURCE)
            .await
            .unwrap();
        self.session(&id).await.full().unwrap()
    }

    async fn pending_session(&self, name: &str) -> PendingSession {
        let id = self
            .latchkey
            .portal_sign_in(name, Zeroizing::new(PASSWORD.into()), SOURCE)
            .await
            .unwrap();
        self.session(&id).await.pending().unwrap()
    }

    /// Gives `name` five answered questions ("answer 0" … "answer 4" to the
    /// first five of the pool); their ids.
    async fn set_answers(&self, name: &str, totp: &Totp) -> Vec<i64> {
        let full = self.full_session(name, totp).await;
        let pool = self.latchkey.portal_question_pool().await.unwrap();
        let ids: Vec<i64> = pool[..5].iter().map(|q| q.id).collect();
        let choices = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.to_string(), Zeroizing::new(format!("answer {i}"))))
            .collect();
        self.latchkey
            .portal_set_answers(&full, choices, SOURCE)
            .await
            .unwrap();
        ids
    }
}

fn wrong_answers() -> Vec<Zeroizing<String>> {
    vec![Zeroizing::new("wrong".to_owned()); 2]
}

fn right_answers(questions: &[Question], ids: &[i64]) -> Vec<Zeroizing<String>> {
    questions
        .iter()
        .map(|q| {
            let i = ids.iter().position(|id| *id == q.id).unwrap();
            Zeroizing::new(format!("answer {i}"))
        })
        .collect()
}
