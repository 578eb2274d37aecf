//! The audit log of what administrators changed.

#[allow(unused_imports)]
use super::*;
pub const AUDIT_PER_PAGE: i64 = 50;

type AuditRow = (i64, String, String, String, Option<String>, Option<String>, NaiveDateTime);

/// The newest entries first, one page at a time.
pub async fn list_audit(conn: &mut DbConn, page: i64) -> Result<(Vec<AuditEntry>, i64), DbError> {
    let page = page.max(1);
    let (total, rows) = with_db!(conn, c => {
        let total: i64 = audit_log::table.count().get_result(c).await?;
        let rows: Vec<AuditRow> = audit_log::table
            .order((audit_log::created_at.desc(), audit_log::id.desc()))
            .limit(AUDIT_PER_PAGE)
            .offset(crate::db::page_offset(page, AUDIT_PER_PAGE))
            .select((audit_log::id, audit_log::actor_name, audit_log::action, audit_log::subject, audit_log::before_state, audit_log::after_state, audit_log::created_at))
            .load(c)
            .await?;
        Ok::<_, DbError>((total, rows))
    })?;
    let clock = conn.clock();
    let entries = rows
        .into_iter()
        .map(|(id, actor_name, action, subject, before, after, at)| AuditEntry {
            id,
            actor_name,
            action,
            subject,
            before,
            after,
            at: clock.stamp(at),
        })
        .collect();
    Ok((entries, ((total + AUDIT_PER_PAGE - 1) / AUDIT_PER_PAGE).max(1)))
}
