//! The contact lists this server has computed lately, so that paging through a search, coming
//! back to the list or opening it again costs neither a count nor a sort.
//!
//! An entry is only used while the database's contacts version (a counter moved by triggers on
//! every change to contacts, their tags and services, and status order; migration 7) is the one
//! it was computed at, so every app server sharing a database sees every change at once. The
//! entries hold ids only: the rows on a page are always read fresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ContactQuery;

/// The ids a list keeps at first (80 pages of 25); asking for a page beyond extends it.
pub const KEPT_IDS: i64 = 2_000;
/// The most ids one list keeps (deeper pages are read with OFFSET every time); small in tests, so
/// that every path runs on a small database.
pub const MAX_KEPT_IDS: i64 = if cfg!(test) { KEPT_IDS + super::CONTACTS_PER_PAGE } else { 200_000 };
/// Lists kept per database between two changes; more than that starts afresh.
const LISTS: usize = 256;
/// Ids kept per database (8 bytes each: 32 MiB); more than that starts afresh.
const IDS: usize = 4_000_000;
/// Databases one server keeps lists for (one in production; tests open many).
const DATABASES: usize = 8;

/// A list as computed: how many contacts match and the first ids in order.
#[derive(Debug)]
pub struct List {
    pub total: i64,
    pub ids: Vec<i64>,
}

/// The lists of one database at one version.
struct Generation {
    version: i64,
    lists: HashMap<ContactQuery, Arc<List>>,
    ids: usize,
}

impl Generation {
    fn new(version: i64) -> Self {
        Generation { version, lists: HashMap::new(), ids: 0 }
    }
}

static LISTS_BY_DATABASE: Mutex<Option<HashMap<String, Generation>>> = Mutex::new(None);

/// The key of `query`'s list: its page does not matter, nor the case or spaces of its search.
fn key(query: &ContactQuery) -> ContactQuery {
    ContactQuery { page: 0, search: query.search.trim().to_lowercase(), ..query.clone() }
}

/// The list for `query` at `version` of database `instance`, if kept.
pub fn get(instance: &str, version: i64, query: &ContactQuery) -> Option<Arc<List>> {
    let mut guard = LISTS_BY_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
    let databases = guard.as_mut()?;
    let generation = databases.get(instance)?;
    if version < generation.version {
        // The counter went back: the database was restored from a copy. Nothing kept holds.
        databases.remove(instance);
        return None;
    }
    (generation.version == version).then(|| generation.lists.get(&key(query)).cloned()).flatten()
}

/// Keeps `list` for `query` at `version`; lists of older versions are dropped.
pub fn put(instance: &str, version: i64, query: &ContactQuery, list: Arc<List>) {
    let key = key(query);
    let mut guard = LISTS_BY_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
    let databases = guard.get_or_insert_with(HashMap::new);
    if !databases.contains_key(instance) && databases.len() >= DATABASES {
        databases.clear();
    }
    let generation = databases.entry(instance.to_owned()).or_insert_with(|| Generation::new(version));
    if generation.version != version {
        // A list computed before a newer one was kept is of no use; one from a newer version
        // replaces the lot.
        if version < generation.version {
            return;
        }
        *generation = Generation::new(version);
    }
    if generation.lists.len() >= LISTS || generation.ids + list.ids.len() > IDS {
        *generation = Generation::new(version);
    }
    generation.ids += list.ids.len();
    if let Some(replaced) = generation.lists.insert(key, list) {
        generation.ids -= replaced.ids.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(total: i64) -> Arc<List> {
        Arc::new(List { total, ids: (1..=total).collect() })
    }

    #[test]
    fn a_list_is_kept_for_its_version_and_search_case_and_spaces_do_not_matter() {
        let db = "cache-test-a";
        let query = ContactQuery { search: "Hopper".into(), page: 3, ..Default::default() };
        put(db, 5, &query, list(2));
        let same = ContactQuery { search: "  hopper ".into(), page: 1, ..Default::default() };
        assert_eq!(get(db, 5, &same).map(|l| l.total), Some(2));
        assert!(get(db, 6, &same).is_none(), "a newer version does not use it");
        put(db, 6, &ContactQuery::default(), list(1));
        assert!(get(db, 5, &same).is_none());
        put(db, 5, &query, list(2));
        assert!(get(db, 6, &query).is_none(), "a list computed before the newer version is not kept");
    }

    #[test]
    fn a_counter_that_went_back_drops_everything_kept() {
        let db = "cache-test-b";
        let query = ContactQuery::default();
        put(db, 9, &query, list(3));
        // The database was restored from a copy taken at version 4; by the time it reaches 9
        // again its contacts are others.
        assert!(get(db, 4, &query).is_none());
        assert!(get(db, 9, &query).is_none());
    }
}
