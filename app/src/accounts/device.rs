//! Device cookies (OWASP's defence against targeted lockout): a browser that signed in to an
//! account keeps, for 90 days, a cookie naming that account, signed with the database's key.
//! When guesses from many addresses lock the account (the per-account limit of
//! [`super::throttle`]), a browser with the cookie is not locked with everyone else: the owner
//! still signs in while the attack goes on. Its own address's limit still applies.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a browser stays known after its last sign-in.
pub const MAX_AGE_DAYS: i64 = 90;

/// The cookie's name: `__Host-` (HTTPS only, this host only, path `/`) when the site is served
/// over HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-crm_device"
    } else {
        "crm_device"
    }
}

fn mac(key: &[u8], user_id: i64, stamp: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in ["device", &user_id.to_string(), &stamp.to_string()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// The cookie's value for `user_id`, issued at `stamp` (seconds since the epoch).
pub fn token(key: &[u8], user_id: i64, stamp: i64) -> String {
    let digest: String =
        mac(key, user_id, stamp).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{user_id}.{stamp}.{digest}")
}

/// The account a genuine, unexpired cookie value was issued for.
pub fn holder(key: &[u8], value: &str, now: i64) -> Option<i64> {
    let mut parts = value.splitn(3, '.');
    let user_id: i64 = parts.next()?.parse().ok()?;
    let stamp: i64 = parts.next()?.parse().ok()?;
    let digest = parts.next()?;
    let bytes: Option<Vec<u8>> =
        (0..digest.len()).step_by(2).map(|i| u8::from_str_radix(digest.get(i..i + 2)?, 16).ok()).collect();
    let fresh = (0..=MAX_AGE_DAYS * 24 * 60 * 60).contains(&(now - stamp));
    (fresh && mac(key, user_id, stamp).verify_slice(&bytes?).is_ok()).then_some(user_id)
}

/// The accounts the request's device cookies were genuinely issued for (a browser shared by
/// several people has one cookie per account… of the last one; usually one).
pub fn holders(key: &[u8], headers: &axum::http::HeaderMap, now: i64) -> Vec<i64> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == cookie_name(true) || *name == cookie_name(false))
        .filter_map(|(_, value)| holder(key, value, now))
        .collect()
}

/// The `Set-Cookie` value that makes this browser known for `user_id`.
pub fn set_cookie(key: &[u8], user_id: i64, now: i64, secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!(
        "{}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure_attr}",
        cookie_name(secure),
        token(key, user_id, now),
        MAX_AGE_DAYS * 24 * 60 * 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_names_its_account_only_while_genuine_and_fresh() {
        let key = b"a key of this installation, 32 b";
        let now = 1_800_000_000;
        let value = token(key, 42, now);
        assert_eq!(holder(key, &value, now + 60), Some(42));
        assert_eq!(holder(b"another installation's key 32 by", &value, now), None);
        assert_eq!(holder(key, &value.replacen("42.", "43.", 1), now), None, "another account");
        assert_eq!(holder(key, &value, now + MAX_AGE_DAYS * 24 * 60 * 60 + 1), None, "expired");
        assert_eq!(holder(key, "42.1.zz", now), None);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            format!("crm_session=x; crm_device={value}").parse().unwrap(),
        );
        assert_eq!(holders(key, &headers, now), vec![42]);
    }
}
