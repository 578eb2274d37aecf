//! The import pages: the upload form with the history, and one import's page, which shows
//! whatever step it is at: the mapping, the dry run's report, the progress of a run or an undo,
//! and the report of what was done. Every step works without JavaScript; with it, a busy import's
//! progress updates by itself.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    import_history, import_progress, load_import, CancelImport, EditImportMapping, SaveImportMapping,
    StartImport, UndoImport, HISTORY_PAGE, REPORT_PAGE,
};
use super::{FileFormat, ImportMode, ImportState, ImportSummary, ImportView, MatchBy, Outcome, RowReport};
use crate::error::AppError;
use crate::ui::{error_of, href, id_param, FormAlert, Loaded, Pager};

fn page_of(value: Option<String>) -> i64 {
    value.and_then(|p| p.parse().ok()).filter(|p| *p > 0).unwrap_or(1)
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// `/staff/imports`: the upload form and the history.
#[component]
pub fn ImportsPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| page_of(query.read().get("page")));
    let refused = Memo::new(move |_| {
        let q = query.read();
        let line = q.get("line").and_then(|l| l.parse().ok());
        q.get("error").and_then(|code| super::upload_message(&code, line))
    });
    let history = Resource::new(move || page.get(), import_history);
    view! {
        <Title text="Import contacts"/>
        <h1>"Import contacts"</h1>
        <section class="card" aria-labelledby="upload-heading">
            <h2 id="upload-heading">"Upload a file"</h2>
            <p>
                "A CSV file (comma, semicolon, tab or bar; UTF-8, UTF-16 or Windows-1252) or an Excel "
                "workbook (.xlsx), up to 100 MB. You choose where each column goes and see a dry run "
                "of every change before anything is written."
            </p>
            {move || refused.get().map(|m| view! { <div class="alert alert-error" role="alert" id="upload-error">{m}</div> })}
            <form method="post" action="/api/staff/imports/upload" enctype="multipart/form-data">
                <div class="field">
                    <label for="import-file">"File to import"</label>
                    <input
                        id="import-file"
                        type="file"
                        name="file"
                        required=true
                        accept=".csv,.tsv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                        aria-describedby=move || refused.get().map(|_| "upload-error")
                    />
                </div>
                <button type="submit">"Upload"</button>
            </form>
        </section>
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Import history"</h2>
            <Loaded>
                {move || Suspend::new(async move {
                    history.await.map(|(imports, total): (Vec<ImportSummary>, i64)| {
                        if imports.is_empty() {
                            return view! { <p>"No imports yet."</p> }.into_any();
                        }
                        let pages = (total + HISTORY_PAGE - 1) / HISTORY_PAGE;
                        let rows = imports.into_iter().map(|i| {
                            let label = format!("Open import {} ({})", i.id, i.file_name);
                            view! {
                                <tr>
                                    <td><a href=format!("/staff/imports/{}", i.id) aria-label=label>{i.file_name.clone()}</a></td>
                                    <td>{i.created_by.clone()}</td>
                                    <td>{i.created_at.clone()}</td>
                                    <td>{i.state.label()}</td>
                                    <td>{mode_label(i.settings.mode)}</td>
                                    <td>{i.total_rows}</td>
                                    <td>{i.created}</td>
                                    <td>{i.updated}</td>
                                    <td>{i.errors}</td>
                                    <td>{duration(i.seconds)}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table>
                                <thead><tr>
                                    <th scope="col">"File"</th><th scope="col">"By"</th><th scope="col">"Uploaded"</th>
                                    <th scope="col">"State"</th><th scope="col">"Mode"</th><th scope="col">"Rows"</th>
                                    <th scope="col">"Created"</th><th scope="col">"Updated"</th><th scope="col">"Errors"</th>
                                    <th scope="col">"Took"</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <Pager href=move |p| href("/staff/imports", &[("page", &p.to_string())]) page=page.get_untracked() pages/>
                        }.into_any()
                    })
                })}
            </Loaded>
        </section>
    }
}

fn mode_label(mode: ImportMode) -> &'static str {
    match mode {
        ImportMode::Create => "Create only",
        ImportMode::Update => "Update only",
        ImportMode::CreateAndUpdate => "Create and update",
    }
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s >= 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

/// `/staff/imports/:id`: the import at whatever step it is.
#[component]
pub fn ImportPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let outcome = Memo::new(move |_| query.read().get("outcome").unwrap_or_default());
    let page = Memo::new(move |_| page_of(query.read().get("page")));
    let save = ServerAction::<SaveImportMapping>::new();
    let start = ServerAction::<StartImport>::new();
    let cancel = ServerAction::<CancelImport>::new();
    let undo = ServerAction::<UndoImport>::new();
    let edit = ServerAction::<EditImportMapping>::new();
    // With JavaScript, a busy import's page asks again every second.
    // With JavaScript, a busy import's progress is asked for every second, and only the
    // progress section follows it; the page itself reloads when the import's state changes.
    let tick = RwSignal::new(0u32);
    let progress = Resource::new(
        move || (id.get(), tick.get()),
        |(id, tick)| async move {
            match (id, tick) {
                (Some(id), 1..) => import_progress(id).await.ok(),
                _ => None,
            }
        },
    );
    let live = Signal::derive(move || progress.get().flatten());
    let live_state = Memo::new(move |_| live.get().map(|s| s.state));
    let view_of = Resource::new(
        move || {
            (
                id.get(),
                outcome.get(),
                page.get(),
                live_state.get(),
                (
                    save.version().get(),
                    start.version().get(),
                    cancel.version().get(),
                    undo.version().get(),
                    edit.version().get(),
                ),
            )
        },
        |(id, outcome, page, ..)| async move {
            match id {
                Some(id) => load_import(id, outcome, page).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let busy =
        Memo::new(move |_| view_of.get().and_then(Result::ok).is_some_and(|v| v.summary.state.is_busy()));
    Effect::new(move |_| {
        if busy.get() {
            if let Ok(handle) =
                set_interval_with_handle(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(1))
            {
                on_cleanup(move || handle.clear());
            }
        }
    });
    let errors = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| start.value().get().and_then(Result::err))
            .or_else(|| cancel.value().get().and_then(Result::err))
            .or_else(|| edit.value().get().and_then(Result::err))
    });
    let undo_error = error_of(undo.value());
    let save_error = error_of(save.value());
    view! {
        <Loaded heading="Import">
            {move || Suspend::new(async move {
                view_of.await.map(|v: ImportView| {
                    let s = v.summary.clone();
                    let title = format!("Import: {}", s.file_name);
                    let body = match s.state {
                        ImportState::Uploaded => view! { <MappingStep v=v.clone() save error=save_error/> }.into_any(),
                        ImportState::Checking => view! { <Progress s=s.clone() live cancel/> }.into_any(),
                        ImportState::Checked => view! { <CheckedStep v=v.clone() start edit outcome=outcome.get_untracked() page=page.get_untracked()/> }.into_any(),
                        ImportState::Running | ImportState::Undoing => view! { <Progress s=s.clone() live cancel/> }.into_any(),
                        _ => view! { <DoneStep v=v.clone() undo undo_error outcome=outcome.get_untracked() page=page.get_untracked()/> }.into_any(),
                    };
                    view! {
                        <Title text=title.clone()/>
                        <h1>{title}</h1>
                        <p><a href="/staff/imports">"Back to the imports"</a></p>
                        <dl class="facts">
                            <dt>"State"</dt><dd id="import-state">{s.state.label()}</dd>
                            <dt>"Uploaded"</dt><dd>{format!("{} by {}", s.created_at, s.created_by)}</dd>
                            <dt>"File"</dt><dd>{format!("{} · {}", s.file_name, size(s.file_size))}</dd>
                            <dt>"Mode"</dt><dd>{mode_label(s.settings.mode)}</dd>
                        </dl>
                        {(!s.message.is_empty()).then(|| {
                            let class = if matches!(s.state, ImportState::Failed | ImportState::Uploaded) { "alert alert-error" } else { "alert alert-ok" };
                            view! { <div class=class role="status">{s.message.clone()}</div> }
                        })}
                        <FormAlert error=errors/>
                        {body}
                    }
                })
            })}
        </Loaded>
    }
}

/// The mapping: how the file is read, where each column goes, what the import does.
#[component]
fn MappingStep(
    v: ImportView,
    save: ServerAction<SaveImportMapping>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let s = v.summary.clone();
    let mut settings = s.settings.clone();
    // After a refused save, what the person chose, not what is stored.
    if let Some(AppError::Invalid(e)) = error.get_untracked() {
        let echoed = |name: &str| e.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(mode) = echoed("mode") {
            settings.mode = match mode.as_str() {
                "create" => ImportMode::Create,
                "update" => ImportMode::Update,
                _ => ImportMode::CreateAndUpdate,
            };
        }
        if let Some(key) = echoed("match_by") {
            settings.match_by =
                if key.is_empty() || key == "email" { MatchBy::Email } else { MatchBy::Extra(key) };
        }
        if let Some(empty) = echoed("empty") {
            settings.empty_clears = empty == "clear";
        }
        if let Some(separator) = echoed("separator").and_then(|s| s.chars().next()) {
            settings.separator = separator;
        }
        if let Some(header) = echoed("has_header") {
            settings.has_header = !header.is_empty();
        }
    }
    let message = move |name: String| {
        move || {
            error
                .get()
                .and_then(|e| e.field(&name))
                .map(|m| view! { <p class="field-error" role="alert">{m}</p> })
        }
    };
    let reading = match &settings.format {
        FileFormat::Csv { encoding, delimiter } => {
            let options = [(",", "Comma (,)"), (";", "Semicolon (;)"), ("tab", "Tab"), ("|", "Vertical bar (|)")];
            let current = match delimiter {
                b'\t' => "tab".to_owned(),
                d => (*d as char).to_string(),
            };
            view! {
                <p>{format!("Read as {} text.", encoding.label())}</p>
                <div class="field">
                    <label for="import-delimiter">"Delimiter"</label>
                    <select id="import-delimiter" name="input[delimiter]">
                        {options.into_iter().map(|(value, label)| view! { <option value=value selected=current == value>{label}</option> }).collect_view()}
                    </select>
                    {message("delimiter".into())}
                </div>
            }
            .into_any()
        }
        FileFormat::Xlsx { sheet, sheets } => view! {
            <div class="field">
                <label for="import-sheet">"Sheet"</label>
                <select id="import-sheet" name="input[sheet]">
                    {sheets.iter().map(|name| view! { <option value=name.clone() selected=name == sheet>{name.clone()}</option> }).collect_view()}
                </select>
                {message("sheet".into())}
            </div>
        }
        .into_any(),
    };
    let width = settings.mapping.len();
    let body_rows: Vec<Vec<String>> =
        v.preview.iter().skip(usize::from(settings.has_header)).cloned().collect();
    let heads = (0..width)
        .map(|i| {
            let name = settings.column_name(i);
            let current = error
                .get_untracked()
                .and_then(|e| e.value(&format!("columns.{i}")))
                .unwrap_or_else(|| settings.mapping[i].value());
            let options = v
                .targets
                .iter()
                .map(|(value, label)| view! { <option value=value.clone() selected=*value == current>{label.clone()}</option> })
                .collect_view();
            let select_id = format!("import-column-{i}");
            view! {
                <th scope="col">
                    <label for=select_id.clone()>{format!("“{name}” goes to")}</label>
                    <select id=select_id name="input[columns][]">{options}</select>
                    {message(format!("columns.{i}"))}
                </th>
            }
        })
        .collect_view();
    let rows = body_rows
        .into_iter()
        .map(|cells| {
            let cells = (0..width)
                .map(|i| view! { <td>{cells.get(i).cloned().unwrap_or_default()}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    let match_options = v
        .match_fields
        .iter()
        .map(|(key, label)| {
            let selected = settings.match_by == MatchBy::Extra(key.clone());
            view! { <option value=key.clone() selected=selected>{label.clone()}</option> }
        })
        .collect_view();
    let mode = settings.mode;
    view! {
        <ActionForm action=save attr:class="contact-form">
            <input type="hidden" name="id" value=s.id.to_string()/>
            <input type="hidden" name="version" value=s.version.to_string()/>
            <input type="hidden" name="input[then]" value="check"/>
            <section class="card" aria-labelledby="reading-heading">
                <h2 id="reading-heading">"Reading the file"</h2>
                {reading}
                <div class="checkbox">
                    <input type="checkbox" id="import-has-header" name="input[has_header]" value="yes" checked=settings.has_header/>
                    <label for="import-has-header">"The first row names the columns (it is not imported)"</label>
                </div>
                <p class="hint">"Changing the delimiter or the sheet shows the file again, read that way, before the dry run."</p>
            </section>
            <section class="card" aria-labelledby="columns-heading">
                <h2 id="columns-heading">"Where each column goes"</h2>
                {message("columns".into())}
                <div class="table-scroll">
                    <table class="import-preview">
                        <thead><tr>{heads}</tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </section>
            <section class="card" aria-labelledby="what-heading">
                <h2 id="what-heading">"What the import does"</h2>
                <fieldset>
                    <legend>"Rows"</legend>
                    <div class="checkbox">
                        <input type="radio" id="import-mode-both" name="input[mode]" value="both" checked=mode == ImportMode::CreateAndUpdate/>
                        <label for="import-mode-both">"Create new contacts and update existing ones"</label>
                    </div>
                    <div class="checkbox">
                        <input type="radio" id="import-mode-create" name="input[mode]" value="create" checked=mode == ImportMode::Create/>
                        <label for="import-mode-create">"Only create new contacts"</label>
                    </div>
                    <div class="checkbox">
                        <input type="radio" id="import-mode-update" name="input[mode]" value="update" checked=mode == ImportMode::Update/>
                        <label for="import-mode-update">"Only update existing contacts"</label>
                    </div>
                </fieldset>
                <div class="field">
                    <label for="import-match">"Find existing contacts by"</label>
                    <select id="import-match" name="input[match_by]">
                        <option value="email" selected=settings.match_by == MatchBy::Email>"Email (any case)"</option>
                        {match_options}
                    </select>
                    {message("match_by".into())}
                </div>
                <fieldset>
                    <legend>"Empty cells, when updating"</legend>
                    <div class="checkbox">
                        <input type="radio" id="import-empty-keep" name="input[empty]" value="keep" checked=!settings.empty_clears/>
                        <label for="import-empty-keep">"Keep the stored value"</label>
                    </div>
                    <div class="checkbox">
                        <input type="radio" id="import-empty-clear" name="input[empty]" value="clear" checked=settings.empty_clears/>
                        <label for="import-empty-clear">"Clear the stored value"</label>
                    </div>
                </fieldset>
                <div class="field">
                    <label for="import-separator">"Separator of several tags, services or options in one cell"</label>
                    <input id="import-separator" name="input[separator]" maxlength="1" size="2" value=settings.separator.to_string()/>
                    {message("separator".into())}
                </div>
                <div class="field">
                    <label for="import-segment">"Add every contact of this import to a static segment"</label>
                    <select id="import-segment" name="input[segment]">
                        <option value="">"No segment"</option>
                        {v.segments.iter().map(|(id, name)| view! { <option value=id.to_string() selected=settings.segment_id == Some(*id)>{name.clone()}</option> }).collect_view()}
                    </select>
                    {message("segment".into())}
                </div>
            </section>
            <button type="submit">"Start the dry run"</button>
        </ActionForm>
    }
}

/// A busy import: how far it is, how fast, how long still; and its cancel button. `live` is the
/// latest progress polled (with JavaScript); the figures follow it, the rest stays put, so the
/// cancel button keeps its focus.
#[component]
fn Progress(
    s: ImportSummary,
    #[prop(into)] live: Signal<Option<ImportSummary>>,
    cancel: ServerAction<CancelImport>,
) -> impl IntoView {
    let can_cancel = matches!(s.state, ImportState::Checking | ImportState::Running) && !s.cancel_requested;
    let id = s.id;
    let checking = s.state == ImportState::Checking;
    let first = StoredValue::new(s.clone());
    let now = move || live.get().filter(|l| l.id == id).unwrap_or_else(|| first.get_value());
    let label = move || {
        let s = now();
        let what = match s.state {
            ImportState::Checking => "Dry run",
            ImportState::Running if s.cancel_requested => "Cancelling: taking back what was written",
            ImportState::Running => "Importing",
            _ => "Undoing",
        };
        match s.total_rows {
            0 => format!("{what}: {} rows read", s.rows_done),
            total => format!("{what}: {} of {total} rows", s.rows_done),
        }
    };
    let figures = move || {
        let s = now();
        let rate = if s.seconds > 0 { s.rows_done / s.seconds } else { 0 };
        let left = (s.total_rows - s.rows_done).max(0);
        let eta = (rate > 0 && s.total_rows > 0).then(|| duration(left / rate.max(1)));
        format!("{rate} rows per second{}", eta.map(|e| format!(", about {e} left")).unwrap_or_default())
    };
    // Known or not, the total is fixed while a step runs: the bar's kind does not change.
    let total = s.total_rows;
    view! {
        <section class="card" aria-labelledby="progress-heading">
            <h2 id="progress-heading">"Progress"</h2>
            <label for="import-progress">{label}</label>
            {match total {
                0 => view! { <progress id="import-progress"></progress> }.into_any(),
                total => view! {
                    <progress id="import-progress" max=total.to_string() value=move || now().rows_done.to_string()></progress>
                }.into_any(),
            }}
            <p>{figures}</p>
            <p><a href=format!("/staff/imports/{id}")>"Refresh"</a></p>
            {can_cancel.then(|| view! {
                <ActionForm action=cancel>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class="secondary">
                        {if checking { "Cancel the dry run" } else { "Cancel the import" }}
                    </button>
                </ActionForm>
            })}
        </section>
    }
}

/// Links that filter the report by outcome, with the dry run's counts (or, for an import that is
/// over, without them: its counts are what it did, not what each row was).
fn outcome_links(id: i64, current: &str, counts: Option<&[(Outcome, i64)]>) -> impl IntoView {
    let all = view! {
        <li><a href=format!("/staff/imports/{id}") aria-current=current.is_empty().then_some("page")>"Every row"</a></li>
    };
    let links = Outcome::ALL
        .iter()
        .map(|o| {
            let here = current == o.key();
            let label = match (counts, o) {
                (Some(counts), o) => {
                    let n = counts.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
                    format!("{} ({n})", o.label())
                }
                (None, Outcome::Create) => "Created".to_owned(),
                (None, Outcome::Update) => "Updated".to_owned(),
                (None, other) => other.label().to_owned(),
            };
            view! {
                <li><a href=href(&format!("/staff/imports/{id}"), &[("outcome", o.key())]) aria-current=here.then_some("page")>{label}</a></li>
            }
        })
        .collect_view();
    view! { <nav aria-label="Rows of the report"><ul class="inline-list">{all}{links}</ul></nav> }
}

fn report_table(rows: Vec<RowReport>, done: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p>"No rows here."</p> }.into_any();
    }
    let body = rows
        .into_iter()
        .map(|r| {
            let contact = match r.contact_id {
                Some(id) if r.result != "changed" || r.outcome == Outcome::Update => {
                    let name = if r.name.is_empty() { format!("Contact {id}") } else { r.name.clone() };
                    view! { <a href=format!("/staff/contacts/{id}")>{name}</a> }.into_any()
                }
                _ => r.name.clone().into_any(),
            };
            let what = match r.outcome {
                Outcome::Error => {
                    let column = if r.column.is_empty() { String::new() } else { format!("{}: ", r.column) };
                    view! { <p>{format!("{column}{}", r.message)}</p> }.into_any()
                }
                _ => {
                    let changes = r
                        .changes
                        .iter()
                        .map(|c| {
                            let before =
                                if c.before.is_empty() { "(empty)".to_owned() } else { c.before.clone() };
                            let after =
                                if c.after.is_empty() { "(empty)".to_owned() } else { c.after.clone() };
                            view! { <li><strong>{c.field.clone()}</strong>": "{before}" → "{after}</li> }
                        })
                        .collect_view();
                    let note = (!r.message.is_empty()).then(|| view! { <p>{r.message.clone()}</p> });
                    view! { <ul class="changes">{changes}</ul>{note} }.into_any()
                }
            };
            let result = match (r.result.as_str(), r.undo_result.is_empty()) {
                ("", _) => String::new(),
                (result, true) => result.to_owned(),
                (result, false) => format!("{result}; undo: {}", r.undo_result),
            };
            view! {
                <tr>
                    <td>{r.row}</td>
                    <td>{r.outcome.label()}</td>
                    <td>{contact}</td>
                    <td>{what}</td>
                    {done.then(|| view! { <td>{result}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="import-report">
            <thead><tr>
                <th scope="col">"Row"</th><th scope="col">"Outcome"</th><th scope="col">"Contact"</th>
                <th scope="col">"Changes or error"</th>
                {done.then(|| view! { <th scope="col">"Result"</th> })}
            </tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}

fn report_pager(id: i64, outcome: String, page: i64, total: i64) -> impl IntoView {
    let pages = (total + REPORT_PAGE - 1) / REPORT_PAGE;
    view! {
        <Pager href=move |p| href(&format!("/staff/imports/{id}"), &[("outcome", &outcome), ("page", &p.to_string())]) page pages/>
    }
}

/// The dry run's report, and the button that runs the import as it shows.
#[component]
fn CheckedStep(
    v: ImportView,
    start: ServerAction<StartImport>,
    edit: ServerAction<EditImportMapping>,
    outcome: String,
    page: i64,
) -> impl IntoView {
    let s = v.summary.clone();
    let counts = [
        (Outcome::Create, s.created),
        (Outcome::Update, s.updated),
        (Outcome::Unchanged, s.unchanged),
        (Outcome::Skip, s.skipped),
        (Outcome::Error, s.errors),
    ];
    let writes = s.created + s.updated;
    view! {
        <section class="card" aria-labelledby="dry-heading">
            <h2 id="dry-heading">"Dry run"</h2>
            <p id="dry-run-totals">{format!(
                "{} rows: {} to create, {} to update, {} unchanged, {} skipped, {} with errors. Nothing has been written yet.",
                s.total_rows, s.created, s.updated, s.unchanged, s.skipped, s.errors
            )}</p>
            <div class="actions">
                <ActionForm action=start>
                    <input type="hidden" name="id" value=s.id.to_string()/>
                    <input type="hidden" name="version" value=s.version.to_string()/>
                    <button type="submit" disabled=writes == 0>{format!("Import: create {} and update {}", s.created, s.updated)}</button>
                </ActionForm>
                <ActionForm action=edit>
                    <input type="hidden" name="id" value=s.id.to_string()/>
                    <input type="hidden" name="version" value=s.version.to_string()/>
                    <button type="submit" class="secondary">"Change the mapping"</button>
                </ActionForm>
                {(s.errors > 0).then(|| view! {
                    <a class="button secondary" href=format!("/staff/imports/{}/errors.csv", s.id) rel="external" download="">"Download the rows with errors (CSV)"</a>
                })}
            </div>
        </section>
        <section class="card" aria-labelledby="report-heading">
            <h2 id="report-heading">"Every row"</h2>
            {outcome_links(s.id, &outcome, Some(&counts))}
            {report_table(v.rows.clone(), false)}
            {report_pager(s.id, outcome.clone(), page, v.rows_total)}
        </section>
    }
}

/// A finished import (done, undone, cancelled, failed): what it did, and its undo.
#[component]
fn DoneStep(
    v: ImportView,
    undo: ServerAction<UndoImport>,
    #[prop(into)] undo_error: Signal<Option<AppError>>,
    outcome: String,
    page: i64,
) -> impl IntoView {
    let s = v.summary.clone();
    let text = match s.state {
        ImportState::Done => format!(
            "Created {}, updated {}; {} left alone because someone changed them after the dry run. Took {}.",
            s.created,
            s.updated,
            s.changed,
            duration(s.seconds)
        ),
        ImportState::Undone => "This import was undone: see each row's result below.".to_owned(),
        _ => "What this import had written was taken back: see each row below.".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="result-heading">
            <h2 id="result-heading">"Result"</h2>
            <p id="import-result">{text}</p>
            {(s.errors > 0).then(|| view! {
                <p><a class="button secondary" href=format!("/staff/imports/{}/errors.csv", s.id) rel="external" download="">"Download the rows with errors (CSV)"</a></p>
            })}
        </section>
        {(s.state == ImportState::Done).then(|| view! {
            <section class="card danger" aria-labelledby="undo-heading">
                <h2 id="undo-heading">"Undo this import"</h2>
                <p>"Deletes the contacts it created and puts back the values it changed. A contact someone changed since keeps those changes; the report says what was and was not put back."</p>
                <ActionForm action=undo>
                    <input type="hidden" name="id" value=s.id.to_string()/>
                    <input type="hidden" name="version" value=s.version.to_string()/>
                    <div class="checkbox">
                        <input type="checkbox" id="import-undo-confirm" name="confirm" value="yes"/>
                        <label for="import-undo-confirm">"Yes, undo this import"</label>
                    </div>
                    {move || undo_error.get().and_then(|e| e.field("confirm")).map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    <button type="submit" class="danger">"Undo the import"</button>
                </ActionForm>
            </section>
        })}
        <section class="card" aria-labelledby="report-heading">
            <h2 id="report-heading">"Every row"</h2>
            {outcome_links(s.id, &outcome, None)}
            {report_table(v.rows.clone(), true)}
            {report_pager(s.id, outcome.clone(), page, v.rows_total)}
        </section>
    }
}
