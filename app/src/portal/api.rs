//! Server functions of the client portal. Each reads only the calling client's own records.

use leptos::prelude::*;

use super::ClientDetails;
use crate::error::AppError;

#[server(prefix = "/api/portal", endpoint = "my_details")]
pub async fn my_details() -> Result<ClientDetails, AppError> {
    use crate::accounts::auth::require_client;

    let result = async {
        let client = require_client().await?;
        let mut conn = crate::api::conn().await?;
        // Read again by the session's own id: never by an id the browser sent.
        let account =
            crate::accounts::repo::find_by_id(&mut conn, client.id).await?.ok_or(AppError::NotFound)?;
        // The one contact linked to this account; there is no way to ask for another.
        let contact_id = crate::accounts::repo::linked_contact(&mut conn, client.id).await?;
        let catalog = crate::fields::repo::catalog(&mut conn).await?;
        let record = match contact_id {
            Some(id) => crate::contacts::repo::get(&mut conn, id).await?.map(|c| super::ContactCard {
                fields: catalog
                    .fields
                    .iter()
                    .filter(|f| f.portal_visible)
                    .filter_map(|f| c.extra_shown.get(&f.key).map(|v| (f.label.clone(), v.clone())))
                    .collect(),
                name: c.display_name(),
                address: c.input.address_line(),
                email: c.input.email,
                phone: c.input.phone,
                company: c.input.company,
            }),
            None => None,
        };
        let clock = conn.clock();
        Ok(ClientDetails {
            display_name: account.display_name,
            email: account.email,
            member_since: clock.date(clock.local(account.created_at).date()),
            last_sign_in: account.last_login_at.map(|t| clock.stamp(t)),
            record,
        })
    }
    .await;
    crate::api::respond(result)
}
