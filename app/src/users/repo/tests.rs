//! Repository tests of users, groups and the audit log, on both backends.

use super::tokens::token_digest;
use super::*;
use crate::accounts::password;
use crate::accounts::repo::find_by_id;
use crate::accounts::session_store::DieselSessionStore;
use crate::db::testing::each_backend;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

async fn user(conn: &mut DbConn, email: &str, kind: UserKind, admin: bool) -> Account {
    crate::users::fixtures::account(conn, email, kind, admin).await
}

fn perms(list: &[Permission]) -> BTreeSet<Permission> {
    list.iter().copied().collect()
}

async fn group_id(conn: &mut DbConn, name: &str) -> i64 {
    list_groups(conn).await.unwrap().into_iter().find(|g| g.name == name).unwrap().id
}

#[tokio::test(flavor = "multi_thread")]
async fn permissions_are_the_union_of_the_groups_and_admins_have_all() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
        let client = user(&mut conn, "client@example.com", UserKind::Client, false).await;
        let actor = Actor::from(&admin);

        assert_eq!(
            effective_permissions(&mut conn, &staff).await.unwrap(),
            BTreeSet::new(),
            "{name}: no groups, no permissions"
        );
        let seeded = group_id(&mut conn, "Staff").await;
        let sales = save_group(
            &mut conn,
            &actor,
            None,
            &GroupInput {
                name: "Sales".into(),
                description: "Selling".into(),
                permissions: perms(&[Permission::ContactsExport, Permission::ContactsView]),
                member_ids: [staff.id, client.id].into_iter().collect(),
            },
        )
        .await
        .unwrap();
        update_user(
            &mut conn,
            &actor,
            staff.id,
            &UserUpdate {
                display_name: "Stella".into(),
                email: "STELLA@example.com".into(),
                is_admin: false,
                group_ids: vec![seeded, sales],
            },
        )
        .await
        .unwrap();
        assert_eq!(
            effective_permissions(&mut conn, &staff).await.unwrap(),
            perms(&[
                Permission::ContactsView,
                Permission::ContactsCreate,
                Permission::ContactsEdit,
                Permission::ActivitiesCreate,
                Permission::ContactsExport
            ]),
            "{name}"
        );
        assert_eq!(
            effective_permissions(&mut conn, &admin).await.unwrap().len(),
            Permission::ALL.len(),
            "{name}"
        );
        assert!(
            effective_permissions(&mut conn, &client).await.unwrap().is_empty(),
            "{name}: clients never get staff permissions"
        );
        let group = get_group(&mut conn, sales).await.unwrap().unwrap();
        assert_eq!(
            group.members,
            vec![(staff.id, "Stella".to_owned())],
            "{name}: clients are not added to staff groups"
        );
        assert_eq!(
            find_by_id(&mut conn, staff.id).await.unwrap().unwrap().email,
            "stella@example.com",
            "{name}"
        );

        // Group names are unique, whatever their case.
        let clash = save_group(
            &mut conn,
            &actor,
            None,
            &GroupInput {
                name: "sales".into(),
                description: String::new(),
                permissions: BTreeSet::new(),
                member_ids: BTreeSet::new(),
            },
        )
        .await;
        assert_eq!(
            clash.unwrap_err().field("name").as_deref(),
            Some("Another group already has this name."),
            "{name}"
        );

        delete_group(&mut conn, &actor, sales).await.unwrap();
        assert!(
            !effective_permissions(&mut conn, &staff).await.unwrap().contains(&Permission::ContactsExport),
            "{name}"
        );
        let (audit, _) = list_audit(&mut conn, 1).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, vec!["group.delete", "user.update", "group.create"], "{name}: newest first");
        assert!(
            audit[1].before.as_deref().unwrap().contains("staff@example.com")
                && audit[1].after.as_deref().unwrap().contains("stella@example.com"),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_removes_the_last_active_admin_or_themselves() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let other = user(&mut conn, "other@example.com", UserKind::Staff, false).await;
        let actor = Actor::from(&other);
        assert!(
            matches!(
                set_active(&mut conn, &actor, admin.id, false, Through::UserManagement).await,
                Err(AppError::Conflict(_))
            ),
            "{name}"
        );
        let demote = UserUpdate {
            display_name: "admin".into(),
            email: "admin@example.com".into(),
            is_admin: false,
            group_ids: vec![],
        };
        assert!(
            update_user(&mut conn, &actor, admin.id, &demote).await.unwrap_err().field("is_admin").is_some(),
            "{name}"
        );
        assert!(
            matches!(delete_user(&mut conn, &actor, admin.id, None).await, Err(AppError::Conflict(_))),
            "{name}"
        );
        assert!(
            matches!(
                delete_user(&mut conn, &Actor::from(&admin), admin.id, None).await,
                Err(AppError::Conflict(_))
            ),
            "{name}: not yourself"
        );
        assert!(find_by_id(&mut conn, admin.id).await.unwrap().unwrap().is_admin, "{name}: nothing changed");

        // With a second administrator, the first may go.
        let promote = UserUpdate {
            display_name: "other".into(),
            email: "other@example.com".into(),
            is_admin: true,
            group_ids: vec![],
        };
        update_user(&mut conn, &Actor::from(&admin), other.id, &promote).await.unwrap();
        update_user(&mut conn, &actor, admin.id, &demote).await.unwrap();
        delete_user(&mut conn, &actor, admin.id, None).await.unwrap();
        assert!(find_by_id(&mut conn, admin.id).await.unwrap().is_none(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_user_hands_their_contacts_to_the_chosen_colleague() {
    use crate::contacts::{repo as contacts, ContactInput};
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let leaving = user(&mut conn, "leaving@example.com", UserKind::Staff, false).await;
        let staying = user(&mut conn, "staying@example.com", UserKind::Staff, false).await;
        let client = user(&mut conn, "client@example.com", UserKind::Client, false).await;
        let input =
            ContactInput { first_name: "Owned".into(), owner_id: Some(leaving.id), ..Default::default() };
        let contact = contacts::create(&mut conn, leaving.id, &input).await.unwrap();
        assert_eq!(owned_contacts(&mut conn, leaving.id).await.unwrap(), 1, "{name}");
        let actor = Actor::from(&admin);
        let to_client = delete_user(&mut conn, &actor, leaving.id, Some(client.id)).await.unwrap_err();
        assert!(to_client.field("new_owner").is_some(), "{name}: only staff can own contacts");
        delete_user(&mut conn, &actor, leaving.id, Some(staying.id)).await.unwrap();
        let c = contacts::get(&mut conn, contact).await.unwrap().unwrap();
        assert_eq!(c.input.owner_id, Some(staying.id), "{name}");
        assert_eq!(c.created_by, None, "{name}: the author is gone, the contact stays");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivating_a_user_ends_all_their_sessions_at_once() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
        let store = DieselSessionStore::new(db.pool.clone());
        let session_of = |user_id: i64| {
            let mut data = std::collections::HashMap::new();
            data.insert(
                "axum-login.data".to_owned(),
                serde_json::json!({ "user_id": user_id, "auth_hash": [1, 2] }),
            );
            Record {
                id: Id::default(),
                data,
                expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            }
        };
        let (mut laptop, mut phone, mut admins) =
            (session_of(staff.id), session_of(staff.id), session_of(admin.id));
        for record in [&mut laptop, &mut phone, &mut admins] {
            SessionStore::create(&store, record).await.unwrap();
        }
        set_active(&mut conn, &Actor::from(&admin), staff.id, false, Through::UserManagement).await.unwrap();
        assert!(SessionStore::load(&store, &laptop.id).await.unwrap().is_none(), "{name}");
        assert!(SessionStore::load(&store, &phone.id).await.unwrap().is_none(), "{name}");
        assert!(
            SessionStore::load(&store, &admins.id).await.unwrap().is_some(),
            "{name}: other people's sessions stay"
        );
        assert!(!find_by_id(&mut conn, staff.id).await.unwrap().unwrap().is_active, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_password_link_works_once_and_only_before_it_expires() {
    use crate::db::schema::password_tokens;
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let staff = user(&mut conn, "staff@example.com", UserKind::Staff, false).await;
        let actor = Actor::from(&admin);
        let token = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
        assert_eq!(token.len(), 64, "{name}");

        let weak = use_password_token(&mut conn, &token, "password1").await.unwrap_err();
        assert!(weak.field("password").is_some(), "{name}: the rules apply, and the link still works");
        use_password_token(&mut conn, &token, "a brand new passphrase today").await.unwrap();
        let updated = find_by_id(&mut conn, staff.id).await.unwrap().unwrap();
        assert!(password::verify("a brand new passphrase today", &updated.password_hash).await, "{name}");
        let again = use_password_token(&mut conn, &token, "yet another passphrase here").await;
        assert!(matches!(again, Err(AppError::Conflict(_))), "{name}: single use");
        assert!(
            matches!(
                use_password_token(&mut conn, "0000", "yet another passphrase here").await,
                Err(AppError::Conflict(_))
            ),
            "{name}"
        );

        let expiring = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
        let past = now() - chrono::Duration::minutes(1);
        with_db!(&mut conn, c => diesel::update(password_tokens::table.find(token_digest(&expiring))).set(password_tokens::expires_at.eq(past)).execute(c).await).unwrap();
        assert!(
            matches!(
                use_password_token(&mut conn, &expiring, "yet another passphrase here").await,
                Err(AppError::Conflict(_))
            ),
            "{name}: expired"
        );
    }
}

/// The attacks: a link sent to the wrong person is still good after a new one was sent; an
/// employee who was let go keeps the link from before and sets a password with it. A link
/// works only while it is the newest and the account is active.
#[tokio::test(flavor = "multi_thread")]
async fn a_set_password_link_dies_with_a_newer_link_and_with_deactivation() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        let staff = user(&mut conn, "ola.nordmann@example.com", UserKind::Staff, false).await;
        let actor = Actor::from(&admin);
        let older = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
        let newer = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
        let used = use_password_token(&mut conn, &older, "ein ganz neues Passwort für Ola").await;
        assert!(matches!(used, Err(AppError::Conflict(_))), "{name}: the older link is dead");

        set_active(&mut conn, &actor, staff.id, false, Through::UserManagement).await.unwrap();
        let used = use_password_token(&mut conn, &newer, "ein ganz neues Passwort für Ola").await;
        assert!(matches!(used, Err(AppError::Conflict(_))), "{name}: deactivation ends the link");
        let after = create_password_token(&mut conn, &actor, staff.id).await.unwrap();
        let used = use_password_token(&mut conn, &after, "ein ganz neues Passwort für Ola").await;
        assert!(
            matches!(used, Err(AppError::Conflict(_))),
            "{name}: nor does a link bring back an inactive account"
        );
        let stored = find_by_id(&mut conn, staff.id).await.unwrap().unwrap();
        assert!(!stored.is_active, "{name}");
        assert!(!password::verify("ein ganz neues Passwort für Ola", &stored.password_hash).await, "{name}");
    }
}

/// The attack (a race): two administrators demote each other at the same moment. Each saw
/// the other still an administrator, so on PostgreSQL both demotions went through and left
/// none. The checks take turns: exactly one stays an administrator, every round.
#[tokio::test(flavor = "multi_thread")]
async fn two_administrators_demoting_each_other_at_once_leave_one() {
    for db in each_backend().await {
        let name = db.backend().name();
        for round in 0..8 {
            let mut conn = db.pool.get().await.unwrap();
            let a = user(&mut conn, &format!("aino-{round}@example.com"), UserKind::Staff, true).await;
            let b = user(&mut conn, &format!("björn-{round}@example.com"), UserKind::Staff, true).await;
            // Nobody else is an administrator.
            with_db!(&mut conn, c => diesel::update(users::table.filter(users::id.ne_all([a.id, b.id])))
                .set(users::is_admin.eq(false))
                .execute(c)
                .await)
            .unwrap();
            let demote = |by: &Account, whom: &Account| {
                let (pool, actor, id) = (db.pool.clone(), Actor::from(by), whom.id);
                let update = UserUpdate {
                    display_name: whom.display_name.clone(),
                    email: whom.email.clone(),
                    is_admin: false,
                    group_ids: vec![],
                };
                async move { update_user(&mut pool.get().await.unwrap(), &actor, id, &update).await }
            };
            let (one, other) = tokio::join!(demote(&a, &b), demote(&b, &a));
            assert_eq!(
                one.is_ok() as u8 + other.is_ok() as u8,
                1,
                "{name}, round {round}: {one:?} {other:?}"
            );
            let admins: i64 = with_db!(&mut conn, c => users::table
                .filter(users::is_admin.eq(true).and(users::is_active.eq(true)))
                .count()
                .get_result(c)
                .await)
            .unwrap();
            assert_eq!(admins, 1, "{name}, round {round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_list_searches_filters_and_pages() {
    for db in each_backend().await {
        let name = db.backend().name();
        let mut conn = db.pool.get().await.unwrap();
        let admin = user(&mut conn, "admin@example.com", UserKind::Staff, true).await;
        for i in 0..30 {
            user(&mut conn, &format!("client{i:02}@example.com"), UserKind::Client, false).await;
        }
        let maria = user(&mut conn, "Maria.Lopez@Example.com", UserKind::Staff, false).await;
        let managers = group_id(&mut conn, "Managers").await;
        update_user(
            &mut conn,
            &Actor::from(&admin),
            maria.id,
            &UserUpdate {
                display_name: "María López".into(),
                email: maria.email.clone(),
                is_admin: false,
                group_ids: vec![managers],
            },
        )
        .await
        .unwrap();

        let all = list_users(&mut conn, &UserFilter::default()).await.unwrap();
        assert_eq!((all.total, all.pages, all.users.len()), (32, 2, 25), "{name}");
        let second = list_users(&mut conn, &UserFilter { page: 2, ..Default::default() }).await.unwrap();
        assert_eq!(second.users.len(), 7, "{name}");

        let found = list_users(&mut conn, &UserFilter { search: "LOPEZ".into(), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(
            found.users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
            vec!["maria.lopez@example.com"],
            "{name}: search is case-insensitive"
        );
        assert_eq!(found.users[0].groups, vec!["Managers".to_owned()], "{name}");
        let pct =
            list_users(&mut conn, &UserFilter { search: "%".into(), ..Default::default() }).await.unwrap();
        assert_eq!(pct.total, 0, "{name}: % is a literal character, not a wildcard");

        let staff = list_users(&mut conn, &UserFilter { kind: Some(UserKind::Staff), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(staff.total, 2, "{name}");
        let in_group = list_users(&mut conn, &UserFilter { group_id: Some(managers), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(in_group.users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![maria.id], "{name}");
        set_active(&mut conn, &Actor::from(&admin), maria.id, false, Through::UserManagement).await.unwrap();
        let inactive =
            list_users(&mut conn, &UserFilter { active: Some(false), ..Default::default() }).await.unwrap();
        assert_eq!(inactive.users.iter().map(|u| u.id).collect::<Vec<_>>(), vec![maria.id], "{name}");
    }
}
