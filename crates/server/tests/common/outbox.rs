//! The mail a served node wrote to its outbox folder.

use std::path::PathBuf;

use super::Database;

/// The finished mails in the outbox of a served node, oldest first.
pub fn outbox_mails(db: &Database) -> Vec<String> {
    let mut mails: Vec<(PathBuf, String)> = std::fs::read_dir(db.dir.path().join("outbox"))
        .map(|entries| {
            entries
                .filter_map(|e| {
                    // Only finished mails: one being written is a hidden `.part` file.
                    let path = e.ok()?.path();
                    if path.extension()? != "eml" {
                        return None;
                    }
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some((path, text))
                })
                .collect()
        })
        .unwrap_or_default();
    mails.sort();
    mails.into_iter().map(|(_, text)| text).collect()
}

/// Waits for a served node's background mail task to write `count` mails
/// (the answer does not wait for it); what is there after five seconds.
pub fn wait_for_mails(db: &Database, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let mails = outbox_mails(db);
        if mails.len() >= count {
            return mails;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    outbox_mails(db)
}
