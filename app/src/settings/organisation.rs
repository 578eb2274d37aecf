//! The organisation's own settings (its name, time zone and date format) and the page on which
//! administrators change them. Saving sets the clock every time in the CRM is shown with.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::{DateFormat, Organisation};
use crate::error::AppError;
use crate::ui::{error_of, saved_notice, FormAlert, FormField, Loaded};

/// What the organisation page offers: the settings as stored and the zones to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationEditor {
    pub organisation: Organisation,
    /// Every IANA time zone name, sorted.
    pub time_zones: Vec<String>,
    /// The time now, shown the way the CRM shows every time.
    pub now: String,
}

/// Reading and saving the three settings, for both backends.
#[cfg(feature = "ssr")]
pub mod repo {
    use super::{DateFormat, Organisation};
    use crate::clock::{self, Clock};
    use crate::db::{DbConn, DbError};
    use crate::error::{AppError, FieldErrors};
    use crate::system::repo::{get_setting, write_setting, DEFAULT_ORGANIZATION_NAME, ORGANIZATION_NAME};

    pub const TIME_ZONE: &str = "time_zone";
    pub const DATE_FORMAT: &str = "date_format";

    /// The organisation as stored; a setting never saved reads as its default.
    pub async fn organisation(conn: &mut DbConn) -> Result<Organisation, DbError> {
        let defaults = Organisation::default();
        Ok(Organisation {
            name: get_setting(conn, ORGANIZATION_NAME)
                .await?
                .unwrap_or_else(|| DEFAULT_ORGANIZATION_NAME.to_owned()),
            time_zone: get_setting(conn, TIME_ZONE).await?.unwrap_or(defaults.time_zone),
            date_format: get_setting(conn, DATE_FORMAT)
                .await?
                .and_then(|key| DateFormat::parse(&key))
                .unwrap_or(defaults.date_format),
        })
    }

    /// What is wrong with the name and the time zone.
    fn problems(organisation: &Organisation) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let length = organisation.name.trim().chars().count();
        if !(1..=100).contains(&length) {
            errors.add("name", "Enter the organisation's name, at most 100 characters.");
        }
        if clock::time_zone(&organisation.time_zone).is_none() {
            errors.add("time_zone", "Choose a time zone from the list, such as Europe/Berlin.");
        }
        errors
    }

    /// The organisation as the form sent it (the date format by its key), with a message on
    /// every field that is wrong.
    pub fn from_form(name: &str, time_zone: &str, date_format: &str) -> Result<Organisation, AppError> {
        let format = DateFormat::parse(date_format.trim());
        let organisation = Organisation {
            name: name.trim().to_owned(),
            time_zone: time_zone.trim().to_owned(),
            date_format: format.unwrap_or_default(),
        };
        let mut errors = problems(&organisation);
        if format.is_none() {
            errors.add("date_format", "Choose one of the date formats.");
        }
        errors.into_result()?;
        Ok(organisation)
    }

    /// Saves the three settings together, then shows every time of this server in the new zone
    /// and format at once (other servers on the database follow within [`CLOCK_REFRESH`]).
    ///
    /// [`CLOCK_REFRESH`]: crate::settings::organisation::CLOCK_REFRESH
    pub async fn save_organisation(conn: &mut DbConn, organisation: &Organisation) -> Result<(), AppError> {
        problems(organisation).into_result()?;
        let tz = clock::time_zone(&organisation.time_zone).ok_or(AppError::Internal)?;
        let name = organisation.name.trim();
        let format = organisation.date_format;
        conn.write_tx(async |c: &mut DbConn| {
            write_setting(c, ORGANIZATION_NAME, name).await?;
            write_setting(c, TIME_ZONE, tz.name()).await?;
            write_setting(c, DATE_FORMAT, format.key()).await
        })
        .await?;
        conn.set_clock(Clock { tz, date_format: format });
        Ok(())
    }

    /// Reads the stored zone and format and makes them this pool's clock; returns it. A stored
    /// value that no longer parses (a zone removed from the tz database) reads as UTC / ISO.
    pub async fn load_clock(conn: &mut DbConn) -> Result<Clock, DbError> {
        let organisation = organisation(conn).await?;
        let tz = clock::time_zone(&organisation.time_zone).unwrap_or_else(|| {
            tracing::warn!(time_zone = %organisation.time_zone, "unknown time zone in the settings; showing UTC");
            Clock::default().tz
        });
        let clock = Clock { tz, date_format: organisation.date_format };
        conn.set_clock(clock);
        Ok(clock)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::accounts::repo::{create as create_user, NewAccount};
        use crate::accounts::{password, UserKind};
        use crate::activities::repo::{self as activities, Editor};
        use crate::activities::ActivityInput;
        use crate::contacts::ContactInput;
        use crate::db::testing::each_backend;
        use crate::users::repo::Actor;

        #[tokio::test(flavor = "multi_thread")]
        async fn saved_settings_are_read_back_and_every_time_is_shown_in_the_new_zone() {
            for db in each_backend().await {
                let backend = db.backend().name();
                let mut conn = db.pool.get().await.unwrap();
                assert_eq!(
                    organisation(&mut conn).await.unwrap(),
                    Organisation {
                        name: "Your company".into(),
                        time_zone: "UTC".into(),
                        date_format: DateFormat::Iso
                    },
                    "{backend}: the defaults"
                );

                let hash = password::hash("correct horse battery staple").await;
                let new = NewAccount {
                    email: "zoë@example.com",
                    display_name: "Zoë Brandt",
                    password_hash: &hash,
                    kind: UserKind::Staff,
                    is_active: true,
                    is_admin: true,
                };
                let actor =
                    Actor { id: create_user(&mut conn, &new).await.unwrap().id, name: "Zoë Brandt".into() };
                let contact = ContactInput { first_name: "Jürgen".into(), ..Default::default() };
                let contact = crate::contacts::repo::create(&mut conn, actor.id, &contact).await.unwrap();
                let call = ActivityInput {
                    kind: "call".into(),
                    subject: "Anruf wegen Angebot".into(),
                    body: String::new(),
                    happened_at: "2026-11-22T16:45".into(),
                    due_on: String::new(),
                };
                activities::create(&mut conn, &actor, contact, &call).await.unwrap();
                let viewer = Editor { actor: actor.clone(), can_log: true, manage_all: true };
                let shown = async |conn: &mut DbConn| {
                    let (entries, _) = activities::timeline(conn, &viewer, contact, None, 20).await.unwrap();
                    entries.into_iter().find(|a| a.subject == "Anruf wegen Angebot").unwrap().happened_at
                };
                assert_eq!(shown(&mut conn).await, "2026-11-22 16:45 UTC", "{backend}");

                let berlin = Organisation {
                    name: "  Müller & Söhne 🛠️ GmbH ".into(),
                    time_zone: "Europe/Berlin".into(),
                    date_format: DateFormat::DayMonthYear,
                };
                save_organisation(&mut conn, &berlin).await.unwrap();
                let saved = Organisation { name: "Müller & Söhne 🛠️ GmbH".into(), ..berlin.clone() };
                assert_eq!(organisation(&mut conn).await.unwrap(), saved, "{backend}: stored trimmed");
                assert_eq!(
                    crate::system::repo::status(&mut conn).await.unwrap().organization_name,
                    "Müller & Söhne 🛠️ GmbH",
                    "{backend}: the status page shows the new name"
                );
                // Every connection of the pool shows the new zone at once, not only the one
                // that saved.
                let mut other = db.pool.get().await.unwrap();
                assert_eq!(shown(&mut other).await, "22/11/2026 17:45 CET", "{backend}");
                drop(other);
                assert!(
                    crate::system::repo::status(&mut conn).await.unwrap().checked_at.ends_with(" CET"),
                    "{backend}: the status check is shown in Berlin time too"
                );

                // Another server on the same database picks the settings up when it loads them.
                conn.set_clock(Clock::default());
                assert_eq!(shown(&mut conn).await, "2026-11-22 16:45 UTC", "{backend}");
                let loaded = load_clock(&mut conn).await.unwrap();
                assert_eq!(loaded.tz.name(), "Europe/Berlin", "{backend}");
                assert_eq!(shown(&mut conn).await, "22/11/2026 17:45 CET", "{backend}");

                // Wrong input saves nothing and says which field is wrong.
                let mars = Organisation { time_zone: "Mars/Olympus_Mons".into(), ..saved.clone() };
                let err = save_organisation(&mut conn, &mars).await.unwrap_err();
                assert!(err.field("time_zone").is_some(), "{backend}: {err:?}");
                assert_eq!(err.field("name"), None, "{backend}: the name was fine");
                let blank = Organisation { name: " \t ".into(), ..saved.clone() };
                let err = save_organisation(&mut conn, &blank).await.unwrap_err();
                assert!(err.field("name").is_some(), "{backend}: {err:?}");
                let long = Organisation { name: "é".repeat(101), ..saved.clone() };
                assert!(save_organisation(&mut conn, &long).await.unwrap_err().field("name").is_some());
                let longest = Organisation { name: "é".repeat(100), ..saved.clone() };
                save_organisation(&mut conn, &longest).await.unwrap();
                save_organisation(&mut conn, &saved).await.unwrap();
                assert_eq!(
                    organisation(&mut conn).await.unwrap(),
                    saved,
                    "{backend}: refused saves changed nothing"
                );
                assert_eq!(shown(&mut conn).await, "22/11/2026 17:45 CET", "{backend}: nor the clock");
            }
        }

        #[test]
        fn the_form_is_checked_field_by_field() {
            let err = from_form("", "Europe/Nowhere", "yyyy").unwrap_err();
            assert!(
                ["name", "time_zone", "date_format"].iter().all(|f| err.field(f).is_some()),
                "every wrong field has its message: {err:?}"
            );
            assert_eq!(
                from_form(" 東京商事 ", " Asia/Tokyo ", "d-mon-y").unwrap(),
                Organisation {
                    name: "東京商事".into(),
                    time_zone: "Asia/Tokyo".into(),
                    date_format: DateFormat::DayMonthName
                }
            );
        }
    }
}

/// How often a server reads the settings again, so that a change saved on another server
/// sharing the database shows here too (the saving server shows it at once).
pub const CLOCK_REFRESH: std::time::Duration = std::time::Duration::from_secs(15);

/// The organisation's settings with the time zones to choose from; administrators only.
#[server(prefix = "/api/staff", endpoint = "organisation_settings")]
pub async fn organisation_settings() -> Result<OrganisationEditor, AppError> {
    use crate::api::{conn, respond};
    let result = async {
        crate::accounts::auth::require_admin().await?;
        let mut conn = conn().await?;
        let organisation = repo::organisation(&mut conn).await?;
        let mut time_zones: Vec<String> =
            chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name().to_owned()).collect();
        time_zones.sort();
        let now = conn.clock().stamp(crate::clock::now());
        Ok(OrganisationEditor { organisation, time_zones, now })
    }
    .await;
    respond(result)
}

/// Saves the organisation's name, time zone and date format; administrators only.
#[server(prefix = "/api/staff", endpoint = "save_organisation")]
pub async fn save_organisation(name: String, time_zone: String, date_format: String) -> Result<(), AppError> {
    use crate::api::{conn, respond};
    let result = async {
        crate::accounts::auth::require_admin().await?;
        let organisation = repo::from_form(&name, &time_zone, &date_format)?;
        repo::save_organisation(&mut conn().await?, &organisation).await?;
        leptos_axum::redirect("/staff/settings/organisation?saved=1");
        Ok(())
    }
    .await;
    let typed =
        [("name", name.as_str()), ("time_zone", time_zone.as_str()), ("date_format", date_format.as_str())];
    respond(result.map_err(|e: AppError| e.keeping_input(&typed)))
}

#[component]
pub fn OrganisationPage() -> impl IntoView {
    let save = ServerAction::<SaveOrganisation>::new();
    let settings = Resource::new(move || save.version().get(), |_| organisation_settings());
    let save_error = error_of(save.value());
    view! {
        <Title text="Organisation"/>
        <h1>"Organisation"</h1>
        {saved_notice()}
        <Loaded>
            {move || Suspend::new(async move {
                settings.await.map(|s| view! { <OrganisationForm settings=s save save_error/> })
            })}
        </Loaded>
    }
}

#[component]
fn OrganisationForm(
    settings: OrganisationEditor,
    save: ServerAction<SaveOrganisation>,
    save_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let OrganisationEditor { organisation, time_zones, now } = settings;
    // After a refused save the lists show what was chosen, not what is stored.
    let typed = |field: &str| save_error.get_untracked().and_then(|e| e.value(field));
    let zone = typed("time_zone").unwrap_or(organisation.time_zone);
    let format = typed("date_format").unwrap_or_else(|| organisation.date_format.key().to_owned());
    let message = move |field: &'static str| {
        move || {
            save_error.get().and_then(|e| e.field(field)).map(|m| {
                view! { <p class="field-error" id=format!("field-{field}-error")>{m}</p> }
            })
        }
    };
    let described_by = move |field: &'static str| {
        move || {
            let hint = format!("field-{field}-hint");
            match save_error.get().and_then(|e| e.field(field)) {
                Some(_) => format!("{hint} field-{field}-error"),
                None => hint,
            }
        }
    };
    let invalid =
        move |field: &'static str| move || save_error.get().and_then(|e| e.field(field)).map(|_| "true");
    view! {
        <section class="card">
            <ActionForm action=save>
                <FormAlert error=save_error/>
                <FormField label="Name" name="name" value=organisation.name required=true error=save_error/>
                <div class="field">
                    <label for="field-time_zone">"Time zone"</label>
                    <p class="hint" id="field-time_zone-hint">
                        {format!("Every time is shown in this zone, with its abbreviation. It is now {now}.")}
                    </p>
                    <select
                        id="field-time_zone"
                        name="time_zone"
                        aria-invalid=invalid("time_zone")
                        aria-describedby=described_by("time_zone")
                    >
                        {time_zones
                            .into_iter()
                            .map(|tz| {
                                let selected = tz == zone;
                                let label = tz.clone();
                                view! { <option value=tz selected=selected>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                    {message("time_zone")}
                </div>
                <div class="field">
                    <label for="field-date_format">"Date format"</label>
                    <p class="hint" id="field-date_format-hint">"How the last day of 2026 is written."</p>
                    <select
                        id="field-date_format"
                        name="date_format"
                        aria-invalid=invalid("date_format")
                        aria-describedby=described_by("date_format")
                    >
                        {DateFormat::ALL
                            .into_iter()
                            .map(|f| view! { <option value=f.key() selected=f.key() == format>{f.example()}</option> })
                            .collect_view()}
                    </select>
                    {message("date_format")}
                </div>
                <button type="submit">"Save"</button>
            </ActionForm>
        </section>
    }
}
