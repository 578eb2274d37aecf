//! The activity log's parts of pages: the timeline with its form on a contact's profile, the edit
//! page of one entry, and the dashboard's open tasks.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    load_activity, load_timeline, my_open_tasks, CompleteTask, DeleteActivity, LogActivity, SaveActivity,
};
use super::{linkify, Activity, ActivityKind, OpenTask, Timeline, TIMELINE_STEP};
use crate::error::AppError;
use crate::ui::{error_of, id_param, FormAlert, Loaded};

/// The timeline of contact `contact_id`, following the `kind` and `shown` query parameters and
/// reloading after any change made on the page.
pub fn timeline_resource(contact_id: Memo<Option<i64>>) -> Resource<Result<Timeline, AppError>> {
    let query = use_query_map();
    let TimelineActions { log, complete } = expect_context::<TimelineActions>();
    Resource::new(
        move || {
            let q = query.read();
            (
                contact_id.get(),
                q.get("kind"),
                q.get("shown").and_then(|s| s.parse::<i64>().ok()),
                log.version().get() + complete.version().get(),
            )
        },
        |(id, kind, shown, _)| async move {
            match id {
                Some(id) => load_timeline(id, kind, shown).await,
                None => Err(AppError::NotFound),
            }
        },
    )
}

/// The actions the timeline's forms use, created once per page.
#[derive(Clone, Copy)]
pub struct TimelineActions {
    pub log: ServerAction<LogActivity>,
    pub complete: ServerAction<CompleteTask>,
}

impl TimelineActions {
    pub fn provide() -> Self {
        let actions = TimelineActions { log: ServerAction::new(), complete: ServerAction::new() };
        provide_context(actions);
        actions
    }
}

/// Body text with its web links made clickable; nothing else in it is interpreted.
#[component]
fn RichText(text: String) -> impl IntoView {
    linkify(&text)
        .into_iter()
        .map(|(is_link, run)| {
            if is_link {
                let href = run.clone();
                view! { <a href=href rel="noopener noreferrer nofollow" target="_blank">{run}</a> }.into_any()
            } else {
                run.into_any()
            }
        })
        .collect_view()
}

/// The fields of an activity, shared by the log form and the edit page.
#[component]
fn ActivityFields(
    kind: String,
    subject: String,
    body: String,
    happened_at: String,
    due_on: String,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// Distinguishes the ids of two forms on one page.
    prefix: &'static str,
) -> impl IntoView {
    let value = move |name: &'static str, initial: &String| {
        let initial = initial.clone();
        move || error.get().and_then(|e| e.value(name)).unwrap_or_else(|| initial.clone())
    };
    let message = move |name: &'static str| {
        move || error.get().and_then(|e| e.field(name)).map(|m| view! { <p class="field-error">{m}</p> })
    };
    let kind_now = value("kind", &kind);
    let ids = |name: &str| format!("{prefix}-{name}");
    view! {
        <div class="form-grid">
            <div class="field">
                <label for=ids("kind")>"Type"</label>
                <select id=ids("kind") name="input[kind]">
                    {ActivityKind::LOGGED.into_iter().map(|k| {
                        let kind_now = kind_now.clone();
                        view! { <option value=k.key() selected=move || kind_now() == k.key()>{k.label()}</option> }
                    }).collect_view()}
                </select>
                {message("kind")}
            </div>
            <div class="field">
                <label for=ids("happened_at")>"When"</label>
                <input id=ids("happened_at") type="datetime-local" name="input[happened_at]" value=value("happened_at", &happened_at)/>
                {message("happened_at")}
            </div>
            <div class="field">
                <label for=ids("due_on")>"Due date (tasks)"</label>
                <input id=ids("due_on") type="date" name="input[due_on]" value=value("due_on", &due_on)/>
                {message("due_on")}
            </div>
        </div>
        <div class="field">
            <label for=ids("subject")>"Subject"</label>
            <input id=ids("subject") type="text" name="input[subject]" value=value("subject", &subject)/>
            {message("subject")}
        </div>
        <div class="field">
            <label for=ids("body")>"Details"</label>
            <textarea id=ids("body") name="input[body]" rows="4">{value("body", &body)}</textarea>
            {message("body")}
        </div>
    }
}

/// One entry of the timeline.
#[component]
fn Entry(activity: Activity) -> impl IntoView {
    let actions = expect_context::<TimelineActions>();
    let a = activity;
    let time = a.time.clone();
    let title = a.title();
    let heading_id = format!("activity-{}-title", a.id);
    let labelled_by = heading_id.clone();
    let is_change = a.kind == ActivityKind::Change;
    let heading = if is_change { a.subject.clone() } else { title.clone() };
    let task_state = (a.kind == ActivityKind::Task).then(|| {
        let due = a.due_label.clone().map(|d| format!("Due {d}. ")).unwrap_or_default();
        let state = if a.done { "Done." } else { "Open." };
        view! { <p class="task-state">{due}{state}</p> }
    });
    let complete_button = (a.kind == ActivityKind::Task && a.can_modify).then(|| {
        let title = title.clone();
        let (label, value) = if a.done { ("Reopen task", "no") } else { ("Mark done", "yes") };
        let back = format!("/staff/contacts/{}#activity-{}", a.contact_id, a.id);
        view! {
            <ActionForm action=actions.complete attr:class="inline-form">
                <input type="hidden" name="id" value=a.id.to_string()/>
                <input type="hidden" name="done" value=value/>
                <input type="hidden" name="back" value=back/>
                <button type="submit" class="secondary small" aria-label=format!("{label}: {title}")>{label}</button>
            </ActionForm>
        }
    });
    let edit_link = (a.can_modify).then(|| {
        let title = title.clone();
        view! {
            <a href=format!("/staff/activities/{}", a.id) aria-label=format!("Edit {}: {}", a.kind.label().to_lowercase(), title)>
                "Edit"
            </a>
        }
    });
    view! {
        <li id=format!("activity-{}", a.id) class=format!("activity activity-{}", a.kind.key())>
            <article aria-labelledby=labelled_by>
                <header>
                    <span class="kind">{a.kind.label()}</span>
                    " "
                    <strong id=heading_id>{heading}</strong>
                </header>
                <p class="meta">
                    {format!("{time} · by {}", a.author)}
                    {is_change.then_some(" · automatic entry")}
                    {a.edited.then_some(" · edited")}
                </p>
                {(!a.body.is_empty()).then(|| view! { <p class="body"><RichText text=a.body.clone()/></p> })}
                {task_state}
                {(!a.changes.is_empty()).then(|| view! {
                    <ul class="changes">
                        {a.changes.iter().map(|ch| {
                            let show = |v: &str| if v.is_empty() { "(empty)".to_owned() } else { v.to_owned() };
                            view! { <li><span class="field-name">{ch.field.clone()}</span>": "{show(&ch.before)}" → "{show(&ch.after)}</li> }
                        }).collect_view()}
                    </ul>
                })}
                {(edit_link.is_some() || complete_button.is_some()).then(|| view! {
                    <div class="entry-actions">{edit_link}{complete_button}</div>
                })}
            </article>
        </li>
    }
}

/// A contact's activity section: the form to log an activity and the timeline, grouped by day.
#[component]
pub fn ActivitySection(contact_id: i64, timeline: Timeline) -> impl IntoView {
    let actions = expect_context::<TimelineActions>();
    let error = error_of(actions.log.value());
    let query = use_query_map();
    let current_kind = move || query.read().get("kind").unwrap_or_default();
    let shown = timeline.entries.len() as i64;
    let more_href = {
        let kind = current_kind();
        let kind = if kind.is_empty() { String::new() } else { format!("kind={kind}&") };
        format!("/staff/contacts/{contact_id}?{kind}shown={}#timeline", shown + TIMELINE_STEP)
    };
    let filters = std::iter::once(("", "All"))
        .chain(ActivityKind::LOGGED.into_iter().chain([ActivityKind::Change]).map(|k| (k.key(), k.plural())))
        .map(|(key, label)| {
            let href = if key.is_empty() {
                format!("/staff/contacts/{contact_id}#timeline")
            } else {
                format!("/staff/contacts/{contact_id}?kind={key}#timeline")
            };
            view! { <a href=href aria-current=move || (current_kind() == key).then_some("page")>{label}</a> }
        })
        .collect_view();
    // Consecutive entries of one day share a heading.
    let mut days: Vec<(String, Vec<Activity>)> = Vec::new();
    for entry in timeline.entries {
        match days.last_mut() {
            Some((label, list)) if *label == entry.day_label => list.push(entry),
            _ => days.push((entry.day_label.clone(), vec![entry])),
        }
    }
    let empty = days.is_empty();
    view! {
        <section class="card" id="timeline" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Activity"</h2>
            {timeline.can_log.then(|| view! {
                <details class="log-form" open=true>
                    <summary>"Log an activity"</summary>
                    <ActionForm action=actions.log>
                        <FormAlert error/>
                        <input type="hidden" name="contact_id" value=contact_id.to_string()/>
                        <ActivityFields
                            kind="call".into()
                            subject=String::new()
                            body=String::new()
                            happened_at=timeline.now.clone()
                            due_on=String::new()
                            error
                            prefix="log"
                        />
                        <button type="submit">"Log activity"</button>
                    </ActionForm>
                </details>
            })}
            <nav class="filters" aria-label="Show in the timeline">{filters}</nav>
            {empty.then(|| view! { <p>"Nothing here yet."</p> })}
            {days.into_iter().map(|(label, entries)| view! {
                <h3 class="day">{label}</h3>
                <ol class="timeline">
                    {entries.into_iter().map(|activity| view! { <Entry activity/> }).collect_view()}
                </ol>
            }).collect_view()}
            {timeline.has_more.then(|| view! { <p><a class="button secondary" href=more_href>"Show more"</a></p> })}
        </section>
    }
}

/// Edits one entry (at `/staff/activities/:id`), with its deletion underneath.
#[component]
pub fn ActivityEditPage() -> impl IntoView {
    let id = id_param();
    let save = ServerAction::<SaveActivity>::new();
    let delete = ServerAction::<DeleteActivity>::new();
    let error = error_of(save.value());
    let delete_error = error_of(delete.value());
    let activity = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => load_activity(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Loaded heading="Activity">
            {move || Suspend::new(async move {
                activity.await.map(|a: Activity| {
                    let title = format!("Edit {}", a.kind.label().to_lowercase());
                    let back = format!("/staff/contacts/{}#activity-{}", a.contact_id, a.id);
                    view! {
                        <Title text=title.clone()/>
                        <h1>{title}</h1>
                        <p><a href=back.clone()>"Back to the contact"</a></p>
                        <ActionForm action=save>
                            <FormAlert error/>
                            <input type="hidden" name="id" value=a.id.to_string()/>
                            <ActivityFields
                                kind=a.kind.key().to_owned()
                                subject=a.subject.clone()
                                body=a.body.clone()
                                happened_at=a.happened_at_local.clone()
                                due_on=a.due_on.clone().unwrap_or_default()
                                error
                                prefix="edit"
                            />
                            <button type="submit">"Save activity"</button>
                            " "
                            <a href=back>"Cancel"</a>
                        </ActionForm>
                        <section class="card danger" aria-labelledby="delete-heading">
                            <h2 id="delete-heading">"Delete"</h2>
                            <ActionForm action=delete>
                                <FormAlert error=delete_error/>
                                <input type="hidden" name="id" value=a.id.to_string()/>
                                <div class="checkbox">
                                    <input type="checkbox" id="field-confirm" name="confirm" value="yes" required=true/>
                                    <label for="field-confirm">"Yes, delete this entry for good"</label>
                                </div>
                                <button type="submit" class="danger">"Delete activity"</button>
                            </ActionForm>
                        </section>
                    }
                })
            })}
        </Loaded>
    }
}

/// The dashboard's "My open tasks": due soonest first, overdue ones marked, each with "Mark done".
#[component]
pub fn MyOpenTasks() -> impl IntoView {
    let complete = ServerAction::<CompleteTask>::new();
    let tasks = Resource::new(move || complete.version().get(), |_| my_open_tasks());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                tasks.await.ok().flatten().map(|tasks: Vec<OpenTask>| view! {
                    <section class="card" aria-labelledby="tasks-heading">
                        <h2 id="tasks-heading">"My open tasks"</h2>
                        {tasks.is_empty().then(|| view! { <p>"No open tasks. Add one from a contact's timeline."</p> })}
                        <ul class="tasks">
                            {tasks.into_iter().map(|t| {
                                let due = match (&t.due_on, t.overdue) {
                                    (Some(d), true) => format!("Overdue: was due {d}"),
                                    (Some(d), false) => format!("Due {d}"),
                                    (None, _) => "No due date".to_owned(),
                                };
                                view! {
                                    <li class:overdue=t.overdue>
                                        <a href=format!("/staff/contacts/{}#activity-{}", t.contact_id, t.id)>{t.title.clone()}</a>
                                        {format!(" — {} · ", t.contact_name)}
                                        <span class="due">{due}</span>
                                        <ActionForm action=complete attr:class="inline-form">
                                            <input type="hidden" name="id" value=t.id.to_string()/>
                                            <input type="hidden" name="done" value="yes"/>
                                            <input type="hidden" name="back" value="/staff"/>
                                            <button type="submit" class="secondary small" aria-label=format!("Mark done: {}", t.title)>"Mark done"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            })}
        </Transition>
    }
}
