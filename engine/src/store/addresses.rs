//! `email_address_index`: every address of every email-enabled record (users, queues, contacts,
//! accounts, leads), kept by triggers on those tables. Resolving an address is one primary-key
//! range lookup, whatever the number of records.

use crate::Result;
use crate::domain::{EmailEntity, RecordState, UserId};
use rusqlite::Connection;

/// One record that has an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressMatch {
    pub entity: EmailEntity,
    pub record_id: i64,
    pub state: RecordState,
    /// The record's owner (a queue's owner; none for a user).
    pub owner_user_id: Option<UserId>,
}

/// The records with `address` (compared trimmed and case-insensitively), at most `limit` of
/// them, in the order of the index (by entity, then id); the caller applies the precedence.
pub fn lookup(c: &Connection, address: &str, limit: u32) -> Result<Vec<AddressMatch>> {
    // The limit is written into the statement, not bound: SQLite prepares a statement again at
    // every step whose LIMIT is a parameter that was bound anew (a tenth of an import's time).
    let mut stmt = c.prepare_cached(&lookup_sql(limit))?;
    let rows = stmt.query_map([address], |r| {
        Ok(AddressMatch { entity: r.get(0)?, record_id: r.get(1)?, state: r.get(2)?, owner_user_id: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn lookup_sql(limit: u32) -> String {
    format!(
        "SELECT i.entity, i.record_id,
                COALESCE(u.state, q.state, ct.state, ac.state, ld.state),
                COALESCE(q.owner_user_id, ct.owner_user_id, ac.owner_user_id, ld.owner_user_id)
         FROM email_address_index i
         LEFT JOIN system_user u ON i.entity = 'user' AND u.id = i.record_id
         LEFT JOIN queue q ON i.entity = 'queue' AND q.id = i.record_id
         LEFT JOIN contact ct ON i.entity = 'contact' AND ct.id = i.record_id
         LEFT JOIN account ac ON i.entity = 'account' AND ac.id = i.record_id
         LEFT JOIN lead ld ON i.entity = 'lead' AND ld.id = i.record_id
         WHERE i.address = lower(trim(?1))
         ORDER BY i.entity, i.record_id
         LIMIT {limit}"
    )
}

/// How many index rows there are (for the tests and the benchmark).
pub fn count(c: &Connection) -> Result<i64> {
    Ok(c.query_row("SELECT count(*) FROM email_address_index", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Contact;
    use crate::domain::crm::CrmRecord;

    #[test]
    fn resolving_an_address_among_100_000_records_is_one_index_search() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let store = crate::store::Store::open(&dir.path().join("t.sqlite3"))?;
        let now = chrono::Utc::now();
        store.write(|tx| {
            for i in 0..100_000 {
                let mut c = Contact::blank(now);
                c.last_name = format!("Contact {i}");
                c.email_address_1 = format!("person{i}@customer{}.example", i % 97);
                if i % 10 == 0 {
                    c.email_address_2 = "shared@contoso.com".into();
                }
                crate::store::records::insert(tx, &c)?;
            }
            Ok(())
        })?;
        store.read(|c| {
            assert_eq!(count(c)?, 110_000, "every address of every record is indexed");
            // Written with other spaces and letter case than stored: still found.
            let found = lookup(c, &format!("  Person4242@Customer{}.example ", 4242 % 97), 10)?;
            assert_eq!(found.len(), 1);
            assert_eq!((found[0].entity, found[0].record_id), (EmailEntity::Contact, 4243));
            assert_eq!(lookup(c, "shared@contoso.com", 101)?.len(), 101, "the cut-off sees one past 100");
            for i in 0..50 {
                lookup(c, &format!("person{i}@customer{}.example", i % 97), 101)?;
            }
            let reprepared = c.prepare_cached(&lookup_sql(101))?.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(reprepared, 0, "each look-up runs the statement prepared once");
            let plan: Vec<String> = c
                .prepare(
                    "EXPLAIN QUERY PLAN SELECT record_id FROM email_address_index WHERE address = lower(trim(?1))",
                )?
                .query_map(["x"], |r| r.get(3))?
                .collect::<rusqlite::Result<_>>()?;
            assert!(
                plan.iter().all(|p| !p.starts_with("SCAN")) && plan.iter().any(|p| p.contains("PRIMARY KEY")),
                "{plan:?}"
            );
            Ok(())
        })
    }
}
