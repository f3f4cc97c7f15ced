//! `admin questions …`: the security-question pool and users' answers.

use clap::Subcommand;
use latchkey_core::Admin;
use latchkey_core::model::QuestionText;
use serde_json::{Value, json};

use super::{Failure, print};
use crate::App;

/// `admin questions …`
#[derive(Debug, Subcommand)]
pub enum QuestionsCommand {
    /// List the questions of the pool
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Add a question to the pool
    Add {
        /// The question as users will read it: 10 to 200 characters
        text: QuestionText,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Retire a question: no one may choose it any more (answers given to it stay)
    Retire {
        /// The question's id, as `questions list` shows it
        id: i64,
    },
    /// Remove a user's answers: they choose new ones at their next sign-in
    Reset {
        /// User name
        user: String,
    },
}

/// Runs one `QuestionsCommand` with the operator's rights.
pub(super) async fn run(
    app: &App,
    admin: &Admin,
    command: QuestionsCommand,
) -> Result<(), Failure> {
    match command {
        QuestionsCommand::List { json } => {
            let pool = app.list_questions(admin).await?;
            print(
                json,
                Value::Array(
                    pool.iter()
                        .map(|q| json!({ "id": q.id, "text": q.text, "active": q.active }))
                        .collect(),
                ),
                || {
                    pool.iter()
                        .map(|q| {
                            let retired = if q.active { "" } else { "\t(retired)" };
                            format!("{}\t{}{retired}", q.id, q.text)
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        QuestionsCommand::Add { text, json } => {
            let id = app.add_question(admin, text.as_str()).await?;
            print(json, json!({ "id": id }), || {
                format!("Added question {id}.")
            });
        }
        QuestionsCommand::Retire { id } => {
            app.retire_question(admin, id).await?;
            println!("Retired question {id}; users who answered it keep their answers.");
        }
        QuestionsCommand::Reset { user } => {
            app.reset_answers(&admin.helpdesk(), &user).await?;
            println!(
                "Removed the security answers of {user}; they choose new ones at their next sign-in."
            );
        }
    }
    Ok(())
}
