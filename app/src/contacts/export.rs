//! CSV export of the contact list as filtered, streamed in batches so that memory stays flat
//! however many contacts match.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::repo;
use super::{Contact, ContactListParams};
use crate::accounts::auth::AuthSession;
use crate::accounts::Permission;
use crate::api::AppState;
use crate::fields::FieldCatalog;

const BATCH: i64 = 500;

const HEADER: [&str; 20] = [
    "ID",
    "First name",
    "Last name",
    "Email",
    "Phone",
    "Company",
    "Job title",
    "Street",
    "City",
    "Postal code",
    "Country",
    "Website",
    "Status",
    "Traffic source",
    "Owner",
    "Tags",
    "Services",
    "Created",
    "Updated",
    "Notes",
];

/// Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return) as a formula;
/// such cells get a leading apostrophe so they stay text.
pub fn neutralize(cell: &str) -> String {
    if starts_a_formula(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Whether a spreadsheet would take `cell` as a formula: a tab or carriage return first, or
/// `= + - @` as its first visible character (spreadsheets skip the spaces before a formula,
/// the no-break and ideographic ones too).
pub fn starts_a_formula(cell: &str) -> bool {
    cell.starts_with(['\t', '\r']) || cell.trim_start().starts_with(['=', '+', '-', '@'])
}

fn record(c: &Contact, catalog: &FieldCatalog, clock: &crate::clock::Clock) -> Vec<String> {
    let i = &c.input;
    let names = |list: &[super::Choice]| list.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ");
    [
        c.id.to_string(),
        i.first_name.clone(),
        i.last_name.clone(),
        i.email.clone(),
        i.phone.clone(),
        i.company.clone(),
        i.job_title.clone(),
        i.street.clone(),
        i.city.clone(),
        i.postal_code.clone(),
        i.country.clone(),
        i.website.clone(),
        c.status.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        c.traffic_source.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        c.owner.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        names(&c.tags),
        names(&c.services),
        c.created_at.clone(),
        c.updated_at.clone(),
        i.notes.clone(),
    ]
    .into_iter()
    .chain(extra_cells(c, catalog, clock))
    .map(|cell| neutralize(&cell))
    .collect()
}

/// A cell per extra field, in a form that imports back: numbers and ISO dates as stored, times
/// in the organisation's zone, options by label (several separated by commas), yes/no.
fn extra_cells(c: &Contact, catalog: &FieldCatalog, clock: &crate::clock::Clock) -> Vec<String> {
    catalog
        .fields
        .iter()
        .map(|def| {
            let stored: Vec<String> = c.input.extra.get(&def.key).cloned().unwrap_or_default();
            stored
                .iter()
                .map(|v| {
                    // The profile's input values (local times, option ids) back to labels.
                    match def.kind {
                        crate::fields::FieldKind::DateTime => v.replace('T', " "),
                        _ => crate::fields::values::editable(def, v, clock, true),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

fn csv_bytes(rows: &[Vec<String>]) -> Result<Bytes, std::io::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(std::io::Error::other)?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}

/// `GET /staff/contacts/export.csv?q=…&status=…` — the same filters as the list page.
pub async fn export_csv(
    State(state): State<AppState>,
    auth: AuthSession,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let list = ContactListParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let Some(user) = auth.user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (allowed, catalog, clock) = match state.pool.get().await {
        Ok(mut conn) => {
            let permissions =
                crate::users::repo::effective_permissions(&mut conn, &user).await.unwrap_or_default();
            let mut allowed = permissions.contains(&Permission::ContactsExport);
            if let (true, Some(id)) = (allowed, list.query().segment_id) {
                // Someone else's private segment is not there to export.
                let viewer = crate::segments::repo::Viewer {
                    id: user.id,
                    name: user.display_name.clone(),
                    manage: permissions.contains(&Permission::SegmentsManage),
                };
                allowed = crate::segments::repo::visible(&mut conn, &viewer, id).await.is_ok();
            }
            let catalog = match allowed {
                true => crate::fields::repo::catalog(&mut conn).await.ok(),
                false => None,
            };
            (allowed, catalog, conn.clock())
        }
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "The database is busy; try again.").into_response()
        }
    };
    if !allowed {
        return (StatusCode::FORBIDDEN, "You may not export contacts.").into_response();
    }
    let Some(catalog) = catalog else {
        return (StatusCode::SERVICE_UNAVAILABLE, "The database is busy; try again.").into_response();
    };
    // Every contact that matches, in id order: the list's sort and page do not apply.
    let query = list.filters().query();
    tracing::info!(user_id = user.id, ?query, "contacts exported");
    // State: (pool, filters, last id written, header written, finished).
    let catalog = std::sync::Arc::new(catalog);
    let mut header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
    // Labels are typed by staff: a formula in one would run in whoever opens the export.
    header.extend(catalog.fields.iter().map(|f| neutralize(&f.label)));
    let header = vec![header];
    let stream = futures::stream::unfold(
        (state.pool.clone(), query, 0i64, Some(header), false),
        move |(pool, query, after, header, done)| {
            let (catalog, clock) = (catalog.clone(), clock.clone());
            async move {
                if let Some(header) = header {
                    return Some((csv_bytes(&header), (pool, query, after, None, done)));
                }
                if done {
                    return None;
                }
                let batch = match pool.get().await {
                    Ok(mut conn) => repo::export_batch(&mut conn, &query, after, BATCH).await,
                    Err(e) => Err(e),
                };
                match batch {
                    Ok(contacts) if contacts.is_empty() => None,
                    Ok(contacts) => {
                        let last = contacts.last().map(|c| c.id).unwrap_or(after);
                        let finished = (contacts.len() as i64) < BATCH;
                        let rows: Vec<Vec<String>> =
                            contacts.iter().map(|c| record(c, &catalog, &clock)).collect();
                        Some((csv_bytes(&rows), (pool, query, last, None, finished)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "export failed part-way");
                        Some((Err(std::io::Error::other(e.to_string())), (pool, query, after, None, true)))
                    }
                }
            }
        },
    );
    let filename = format!("contacts-{}.csv", crate::clock::now().format("%Y-%m-%d"));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            // Personal data: kept by no cache, shared or the browser's.
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_that_spreadsheets_would_run_stay_text() {
        assert_eq!(super::neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::neutralize("+1 555"), "'+1 555");
        assert_eq!(super::neutralize("-2"), "'-2");
        assert_eq!(super::neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::neutralize("Grace"), "Grace");
        assert_eq!(super::neutralize(""), "");
        // Spaces before a formula do not hide it (a cell of "  =cmd|'/c calc'!A1" ran).
        assert_eq!(super::neutralize("  =cmd|' /C calc'!A0"), "'  =cmd|' /C calc'!A0");
        assert_eq!(super::neutralize("\u{a0}=1+1"), "'\u{a0}=1+1");
        assert_eq!(super::neutralize("\u{3000}@SUM(A1)"), "'\u{3000}@SUM(A1)");
        assert_eq!(super::neutralize("\tx"), "'\tx");
        assert_eq!(super::neutralize("Müller = Meier"), "Müller = Meier", "only a formula's start counts");
    }
}
