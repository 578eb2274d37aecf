//! Pages of the segments slice: the list, a segment's page (its members as the contact list,
//! its size over time, entries and exits), the rule builder, and why a contact is in one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::{
    contact_segments, list_segments, load_segment, segment_editor, why_in_segment, DeleteSegment,
    DuplicateSegment, EditSegment, RefreshSegment,
};
use super::{
    operators, pick_list, subjects, Condition, Editor, Group, Input, Membership, Segment, SegmentKind,
    SegmentSummary, Why, WhyGroup, ACTIVITY_KINDS,
};
use crate::contacts::pages::ContactList;
use crate::error::AppError;
use crate::ui::{error_of, id_param, saved_notice, FormAlert, Loaded};

#[component]
pub fn SegmentsPage() -> impl IntoView {
    let segments = Resource::new(|| (), |_| list_segments());
    view! {
        <Title text="Segments"/>
        <h1>"Segments"</h1>
        {saved_notice()}
        <p class="actions">
            <a class="button" href="/staff/segments/new">"New segment"</a>
        </p>
        <Loaded>
            {move || Suspend::new(async move {
                segments.await.map(|list: Vec<SegmentSummary>| {
                    if list.is_empty() {
                        return view! { <p>"No segments yet. A segment is a list of contacts: chosen by hand, or by rules that stay current."</p> }.into_any();
                    }
                    view! {
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Kind"</th>
                                    <th scope="col">"Owner"</th>
                                    <th scope="col">"Visible to"</th>
                                    <th scope="col">"Members"</th>
                                    <th scope="col">"Last change"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|s| view! {
                                    <tr>
                                        <td><a href=format!("/staff/segments/{}", s.id)>{s.name}</a></td>
                                        <td>{s.kind.label()}</td>
                                        <td>{s.owner}</td>
                                        <td>{if s.shared { "All staff" } else { "Only its owner" }}</td>
                                        <td>{s.members}</td>
                                        <td>{s.changed}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })
            })}
        </Loaded>
    }
}

/// A segment's size over time: a line drawn on the server (readable without JavaScript), with
/// the same figures as a table.
#[component]
fn SizeChart(sizes: Vec<(String, i64)>) -> impl IntoView {
    let (width, height, pad) = (600.0_f64, 160.0_f64, 30.0_f64);
    let max = sizes.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let step = if sizes.len() > 1 { (width - 2.0 * pad) / (sizes.len() - 1) as f64 } else { 0.0 };
    let point =
        |i: usize, n: i64| (pad + step * i as f64, height - pad - (n as f64 / max) * (height - 2.0 * pad));
    let points: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let (x, y) = point(i, *n);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let first = sizes.first().map(|(d, _)| d.clone()).unwrap_or_default();
    let last = sizes.last().cloned().unwrap_or_default();
    let summary = format!(
        "Members per day from {first} to {}: {} at most, {} on the last day.",
        last.0, max as i64, last.1
    );
    let dots = sizes
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let (x, y) = point(i, *n);
            view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="3"/> }
        })
        .collect_view();
    view! {
        <figure class="size-chart">
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-labelledby="size-chart-title size-chart-desc" width="100%">
                <title id="size-chart-title">"Segment size over time"</title>
                <desc id="size-chart-desc">{summary.clone()}</desc>
                <line x1=pad y1=height - pad x2=width - pad y2=height - pad class="axis"/>
                <line x1=pad y1=pad x2=pad y2=height - pad class="axis"/>
                <text x="2" y=pad + 4.0 class="label">{max as i64}</text>
                <text x="2" y=height - pad + 4.0 class="label">"0"</text>
                <text x=pad y=height - 8.0 class="label">{first.clone()}</text>
                <text x=width - pad y=height - 8.0 text-anchor="end" class="label">{last.0.clone()}</text>
                <polyline points=points.join(" ") class="line" fill="none"/>
                {dots}
            </svg>
            <figcaption>{summary}</figcaption>
        </figure>
        <details>
            <summary>"Sizes as a table"</summary>
            <table>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Members"</th></tr></thead>
                <tbody>
                    {sizes.into_iter().rev().map(|(d, n)| view! { <tr><td>{d}</td><td>{n}</td></tr> }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}

#[component]
pub fn SegmentPage() -> impl IntoView {
    let id = id_param();
    let duplicate = ServerAction::<DuplicateSegment>::new();
    let refresh = ServerAction::<RefreshSegment>::new();
    let delete = ServerAction::<DeleteSegment>::new();
    let segment = Resource::new(
        move || (id.get(), refresh.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => load_segment(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let delete_error = error_of(delete.value());
    let refresh_error = error_of(refresh.value());
    view! {
        <Loaded heading="Segment">
            {move || Suspend::new(async move {
                segment.await.map(|s: Segment| {
                    let id = s.id;
                    let kind = s.kind;
                    view! {
                        <Title text=s.name.clone()/>
                        <h1>{s.name.clone()}</h1>
                        {saved_notice()}
                        <dl class="facts">
                            <dt>"Kind"</dt><dd>{kind.label()}" — "{kind.hint()}</dd>
                            <dt>"Members"</dt><dd>{s.members}</dd>
                            <dt>"Owner"</dt><dd>{s.owner.clone()}</dd>
                            <dt>"Visible to"</dt><dd>{if s.shared { "All staff" } else { "Only its owner" }}</dd>
                            <dt>"Created"</dt><dd>{s.created_at.clone()}</dd>
                            <dt>"Last changed"</dt><dd>{s.updated_at.clone()}</dd>
                            {s.refreshed_at.clone().map(|t| view! { <dt>"Snapshot taken"</dt><dd>{t}</dd> })}
                        </dl>
                        {kind.has_rules().then(|| view! {
                            <h2>"Rules"</h2>
                            <pre class="rules">{s.described.join("\n")}</pre>
                        })}
                        <div class="actions">
                            {s.can_edit.then(|| view! { <a class="button" href=format!("/staff/segments/{id}/edit")>"Edit"</a> })}
                            <ActionForm action=duplicate attr:class="inline">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <button type="submit" class="secondary">"Duplicate"</button>
                            </ActionForm>
                            {(s.can_edit && kind == SegmentKind::Snapshot).then(|| view! {
                                <ActionForm action=refresh attr:class="inline">
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class="secondary">"Refresh snapshot"</button>
                                </ActionForm>
                            })}
                        </div>
                        <FormAlert error=refresh_error/>
                        {(kind == SegmentKind::Dynamic).then(|| {
                            let events = s.events.clone();
                            view! {
                                <h2>"Size over time"</h2>
                                {if s.sizes.is_empty() { view! { <p>"No sizes recorded yet."</p> }.into_any() } else { view! { <SizeChart sizes=s.sizes.clone()/> }.into_any() }}
                                <h2>"Latest entries and exits"</h2>
                                <p class="hint">"Recorded when the segment's page is opened, and every few minutes, whenever contacts, activities or other segments have changed."</p>
                                {if events.is_empty() {
                                    view! { <p>"No contact has entered or left since the segment was made."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="events">
                                            <thead><tr><th scope="col">"When"</th><th scope="col">"Contact"</th><th scope="col">"Change"</th></tr></thead>
                                            <tbody>
                                                {events.into_iter().map(|e| view! {
                                                    <tr>
                                                        <td>{e.at}</td>
                                                        <td><a href=format!("/staff/contacts/{}", e.contact_id)>{e.contact_name}</a></td>
                                                        <td>{if e.entered { "Entered" } else { "Left" }}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            }
                        })}
                        {(kind == SegmentKind::Snapshot).then(|| view! {
                            <h2>"Snapshot history"</h2>
                            <table>
                                <thead><tr><th scope="col">"Taken"</th><th scope="col">"Members"</th><th scope="col">"List"</th></tr></thead>
                                <tbody>
                                    {s.history.clone().into_iter().map(|g| view! {
                                        <tr><td>{g.taken_at}</td><td>{g.size}</td><td>{if g.current { "Current" } else { "Earlier" }}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                        <h2>"Members"</h2>
                        <ContactList base=format!("/staff/segments/{id}") segment=Some(id)/>
                        {s.can_edit.then(|| view! {
                            <ActionForm action=delete attr:class="danger-zone">
                                <fieldset>
                                    <legend>"Delete this segment"</legend>
                                    <p class="hint">"The contacts stay; only the list goes."</p>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <div class="checkbox">
                                        <input type="checkbox" id="delete-confirm" name="confirm" value="yes"/>
                                        <label for="delete-confirm">"Yes, delete this segment"</label>
                                    </div>
                                    {move || delete_error.get().map(|e| view! { <p class="field-error" role="alert">{e.field("confirm").unwrap_or_else(|| e.to_string())}</p> })}
                                    <button type="submit" class="danger">"Delete segment"</button>
                                </fieldset>
                            </ActionForm>
                        })}
                    }
                })
            })}
        </Loaded>
    }
}

/// A rule group's explanation: each condition met or not, and for nested groups which branch.
#[component]
fn WhyTree(group: WhyGroup) -> AnyView {
    let join = if group.any { "Any of these (one is enough):" } else { "All of these:" };
    let verdict = if group.matched { "met" } else { "not met" };
    view! {
        <div class="why-group">
            <p>{join}" — "<strong>{verdict}</strong></p>
            <ul>
                {group.conditions.into_iter().map(|(text, met)| view! {
                    <li class=if met { "met" } else { "unmet" }>
                        <span aria-hidden="true">{if met { "✓ " } else { "✗ " }}</span>
                        {text}
                        <span class="visually-hidden">{if met { " (met)" } else { " (not met)" }}</span>
                    </li>
                }).collect_view()}
                {group.groups.into_iter().map(|g| view! { <li><WhyTree group=g/></li> }).collect_view()}
            </ul>
        </div>
    }
    .into_any()
}

/// Why, in words and as the rule tree.
pub fn why_view(why: Why) -> AnyView {
    match why {
        Why::Added { by, at } => view! { <p>{format!("Added by {by} on {at}.")}</p> }.into_any(),
        Why::NotMember => view! { <p>"This contact is not in this segment."</p> }.into_any(),
        Why::Broken => view! { <p>"This segment's rules name something that was deleted since (a field, a list entry or a segment), so no contact is in it. Edit its rules."</p> }.into_any(),
        Why::Rules { group, member, as_of } => view! {
            <p>{match (member, as_of) {
                (true, Some(at)) => format!("In the snapshot taken {at}. Its rules, as the contact stands now:"),
                (false, Some(at)) => format!("Not in the snapshot taken {at}. Its rules, as the contact stands now:"),
                (true, None) => "In this segment, because it meets its rules:".to_owned(),
                (false, None) => "Not in this segment: it does not meet its rules.".to_owned(),
            }}</p>
            <WhyTree group/>
        }
        .into_any(),
    }
}

#[component]
pub fn WhyPage() -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        let id = p.get("id").and_then(|v| v.parse::<i64>().ok());
        let contact = p.get("contact").and_then(|v| v.parse::<i64>().ok());
        id.zip(contact)
    };
    let why = Resource::new(ids, |ids| async move {
        match ids {
            Some((id, contact)) => why_in_segment(id, contact).await,
            None => Err(AppError::NotFound),
        }
    });
    view! {
        <Loaded heading="Why is this contact here?">
            {move || Suspend::new(async move {
                why.await.map(|(segment, name, why)| {
                    let (contact, id) = ids().map(|(i, c)| (c, i)).unwrap_or_default();
                    let member = matches!(why, Why::Added { .. } | Why::Rules { member: true, .. });
                    let heading = if member {
                        format!("Why {name} is in “{}”", segment.name)
                    } else {
                        format!("{name} is not in “{}”", segment.name)
                    };
                    view! {
                        <Title text=heading.clone()/>
                        <h1>{heading}</h1>
                        {why_view(why)}
                        <p>
                            <a href=format!("/staff/segments/{id}")>{format!("Back to {}", segment.name)}</a>
                            " · "
                            <a href=format!("/staff/contacts/{contact}")>{format!("Open {name}")}</a>
                        </p>
                    }
                })
            })}
        </Loaded>
    }
}

/// The segments a contact belongs to, on its profile, each with why.
#[component]
pub fn ContactSegments(contact_id: i64) -> impl IntoView {
    let list = Resource::new(move || contact_id, contact_segments);
    view! {
        <section aria-labelledby="segments-heading">
            <h2 id="segments-heading">"Segments"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => view! { <p>"Not in any segment."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="segments">
                                {list.into_iter().map(|m: Membership| view! {
                                    <li>
                                        <a href=format!("/staff/segments/{}", m.segment.id)>{m.segment.name.clone()}</a>
                                        " ("{m.segment.kind.label()}")"
                                        <details>
                                            <summary>{format!("Why is this contact in {}?", m.segment.name)}</summary>
                                            {why_view(m.why)}
                                        </details>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The id of the builder's control last changed: focus goes back to it when the builder is drawn
/// again with the new preview.
#[derive(Clone, Copy)]
struct LastChanged(StoredValue<Option<String>>);

/// Submits the form an input belongs to (the builder's live preview when a value changes).
fn submit_form_of(ev: leptos::ev::Event, last: LastChanged) {
    use leptos::wasm_bindgen::JsCast;
    let target = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok());
    if let Some(t) = &target {
        last.0.set_value(Some(t.id()).filter(|id| !id.is_empty()));
    }
    let form = target
        .and_then(|e| e.closest("form").ok().flatten())
        .and_then(|f| f.dyn_into::<leptos::web_sys::HtmlFormElement>().ok());
    if let Some(form) = form {
        let _ = form.request_submit();
    }
}

/// One condition row of the builder: `n` its place among all conditions, `group` its group.
fn condition_row(editor: &Editor, c: &Condition, n: usize, group: usize, problem: Option<String>) -> AnyView {
    let name = |field: &str| format!("c[{n}][{field}]");
    let id = |field: &str| format!("c{n}-{field}");
    let ops = operators(&c.subject, &editor.catalog);
    let input = ops.iter().find(|(k, _, _)| *k == c.op).map(|(_, _, i)| *i).unwrap_or(Input::None);
    let values = name("values") + "[]";
    let error_id = id("error");
    let described = problem.as_ref().map(|_| error_id.clone());
    let text_value = c.value(0).to_owned();
    let field_kind = c.subject.strip_prefix("f.").and_then(|k| editor.catalog.field(k)).map(|f| f.kind);
    let value_input = match input {
        Input::None => ().into_any(),
        Input::Text | Input::Date | Input::Days => {
            let (label, kind) = match input {
                Input::Date => ("Date", "date"),
                Input::Days => ("Days", "number"),
                _ => ("Value", "text"),
            };
            view! {
                <div class="field">
                    <label for=id("value")>{label}</label>
                    <input id=id("value") name=values.clone() type=kind min=(kind == "number").then_some("1") value=text_value aria-describedby=described.clone() aria-invalid=problem.is_some().then_some("true")/>
                </div>
            }
            .into_any()
        }
        Input::Range => {
            let kind = if field_kind.is_some_and(|k| k.is_date()) { "date" } else { "text" };
            view! {
                <div class="field">
                    <label for=id("min")>"From"</label>
                    <input id=id("min") name=values.clone() type=kind value=c.value(0).to_owned() aria-describedby=described.clone()/>
                </div>
                <div class="field">
                    <label for=id("max")>"To"</label>
                    <input id=id("max") name=values.clone() type=kind value=c.value(1).to_owned() aria-describedby=described.clone()/>
                </div>
            }
            .into_any()
        }
        Input::Pick | Input::PickOne => {
            let list = pick_list(&c.subject, &editor.choices, &editor.catalog, &editor.segments);
            let chosen: Vec<String> = c.values.iter().map(|v| v.trim().to_owned()).collect();
            let multiple = input == Input::Pick;
            view! {
                <div class="field">
                    <label for=id("value")>{if multiple { "Values" } else { "Segment" }}</label>
                    <select id=id("value") name=values.clone() multiple=multiple aria-describedby=described.clone() aria-invalid=problem.is_some().then_some("true")>
                        {(!multiple).then(|| view! { <option value="">"Choose…"</option> })}
                        {list.into_iter().map(|(v, l)| {
                            let selected = chosen.contains(&v);
                            view! { <option value=v selected=selected>{l}</option> }
                        }).collect_view()}
                    </select>
                </div>
            }
            .into_any()
        }
        Input::KindDays => {
            let kind = c.value(0).to_owned();
            view! {
                <div class="field">
                    <label for=id("kind")>"Activity"</label>
                    <select id=id("kind") name=values.clone()>
                        {ACTIVITY_KINDS.iter().map(|(k, l)| view! { <option value=*k selected=kind == *k>{*l}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for=id("days")>"Days"</label>
                    <input id=id("days") name=values.clone() type="number" min="1" value=c.value(1).to_owned() aria-describedby=described.clone() aria-invalid=problem.is_some().then_some("true")/>
                </div>
            }
            .into_any()
        }
    };
    let subject = c.subject.clone();
    view! {
        <div class="condition" role="group" aria-label=format!("Condition {}", n + 1)>
            <input type="hidden" name=name("group") value=group.to_string()/>
            <input type="hidden" name=name("was") value=c.subject.clone()/>
            <div class="field">
                <label for=id("subject")>"Field"</label>
                <select id=id("subject") name=name("subject")>
                    {subjects(&editor.catalog).into_iter().map(|(k, l)| {
                        let selected = k == subject;
                        view! { <option value=k selected=selected>{l}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for=id("op")>"Test"</label>
                <select id=id("op") name=name("op")>
                    {ops.iter().map(|(k, l, _)| view! { <option value=*k selected=c.op == *k>{*l}</option> }).collect_view()}
                </select>
            </div>
            {value_input}
            <button type="submit" name="intent" value=format!("remove:{n}") class="secondary" aria-label=format!("Remove condition {}", n + 1)>"Remove"</button>
            {problem.map(|p| view! { <p class="field-error" id=error_id>{p}</p> })}
        </div>
    }
    .into_any()
}

fn join_select(name: &'static str, id: String, any: bool, label: &'static str) -> AnyView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                <option value="all" selected=!any>"All of these conditions (AND)"</option>
                <option value="any" selected=any>"Any of these conditions (OR)"</option>
            </select>
        </div>
    }
    .into_any()
}

/// The rule builder: the top group, its conditions, and nested groups with theirs.
fn rules_form(editor: &Editor, tried: bool) -> AnyView {
    let rules: &Group = &editor.draft.rules;
    let problem = |n: usize| {
        editor.preview.problems.iter().find(|(k, _)| *k == format!("c.{n}")).map(|(_, m)| m.clone())
    };
    let _ = tried;
    let mut n = 0;
    let mut top = Vec::new();
    for c in &rules.conditions {
        top.push(condition_row(editor, c, n, 0, problem(n)));
        n += 1;
    }
    let mut groups = Vec::new();
    for (k, g) in rules.groups.iter().enumerate() {
        let mut rows = Vec::new();
        for c in &g.conditions {
            rows.push(condition_row(editor, c, n, k + 1, problem(n)));
            n += 1;
        }
        groups.push(view! {
            <fieldset class="rule-group">
                <legend>{format!("Group {}", k + 1)}</legend>
                {join_select("g[]", format!("group-{}-join", k + 1), g.any, "Contacts in this group meet")}
                {rows}
                <button type="submit" name="intent" value=format!("add:{}", k + 1) class="secondary">{format!("Add a condition to group {}", k + 1)}</button>
            </fieldset>
        }.into_any());
    }
    view! {
        <fieldset class="rules">
            <legend>"Rules"</legend>
            {join_select("join", "rules-join".into(), rules.any, "Contacts meet")}
            {top}
            {groups}
            <p class="actions">
                <button type="submit" name="intent" value="add:0" class="secondary">"Add a condition"</button>
                <button type="submit" name="intent" value="add_group" class="secondary">"Add a group"</button>
                <button type="submit" name="intent" value="preview" class="secondary">"Preview"</button>
            </p>
        </fieldset>
    }
    .into_any()
}

#[component]
pub fn SegmentEditPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let edit = ServerAction::<EditSegment>::new();
    let error = error_of(edit.value());
    let editor = Resource::new(
        move || {
            let q = query.read();
            (id.get(), q.get("draft"), q.get("kind"))
        },
        |(id, draft, kind)| segment_editor(id, draft, kind),
    );
    let tried = move || query.read().get("tried").is_some();
    let last = LastChanged(StoredValue::new(None));
    // After the builder is drawn again, the control that was changed has the focus again.
    Effect::new(move |_| {
        if editor.get().is_some() {
            request_animation_frame(move || {
                use leptos::wasm_bindgen::JsCast;
                let Some(id) = last.0.get_value() else { return };
                let element = document().get_element_by_id(&id);
                if let Some(element) = element.and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
                {
                    let _ = element.focus();
                }
            });
        }
    });
    view! {
        <Loaded heading="Segment">
            {move || Suspend::new(async move {
                editor.await.map(|e: Editor| {
                    let d = e.draft.clone();
                    let heading = match d.id {
                        Some(_) => format!("Edit segment “{}”", d.name),
                        None => "New segment".to_owned(),
                    };
                    let name_error = (tried() && d.name.trim().is_empty()).then_some("Enter a name for the segment.");
                    let preview = e.preview.clone();
                    let rules = d.kind.has_rules().then(|| rules_form(&e, tried()));
                    let cancel = d.id.map(|id| format!("/staff/segments/{id}")).unwrap_or_else(|| "/staff/segments".into());
                    view! {
                        <Title text=heading.clone()/>
                        <h1>{heading}</h1>
                        <FormAlert error/>
                        {(tried() && !preview.problems.is_empty()).then(|| view! { <p class="form-error" role="alert">"Please correct the conditions marked below."</p> })}
                        <div on:change=move |ev| submit_form_of(ev, last)>
                        <ActionForm action=edit attr:class="segment-editor">
                            // Enter in a text field presses the form's first button: this one,
                            // not a condition's "Remove".
                            <button type="submit" name="intent" value="preview" class="visually-hidden" tabindex="-1">"Update the count"</button>
                            {d.id.map(|id| view! { <input type="hidden" name="id" value=id.to_string()/> })}
                            {d.version.map(|v| view! { <input type="hidden" name="version" value=v.to_string()/> })}
                            <div class="field">
                                <label for="segment-name">"Name"</label>
                                <input id="segment-name" name="name" type="text" maxlength="100" value=d.name.clone()
                                    aria-invalid=name_error.map(|_| "true") aria-describedby=name_error.map(|_| "segment-name-error")/>
                                {name_error.map(|m| view! { <p class="field-error" id="segment-name-error">{m}</p> })}
                            </div>
                            {match d.id {
                                Some(_) => view! { <input type="hidden" name="kind" value=d.kind.key()/> <p>{format!("Kind: {} — {}", d.kind.label(), d.kind.hint())}</p> }.into_any(),
                                None => view! {
                                    <fieldset>
                                        <legend>"Kind"</legend>
                                        {SegmentKind::ALL.into_iter().map(|k| {
                                            let id = format!("kind-{}", k.key());
                                            view! {
                                                <div class="radio">
                                                    <input type="radio" id=id.clone() name="kind" value=k.key() checked=k == d.kind/>
                                                    <label for=id>{k.label()}" — "{k.hint()}</label>
                                                </div>
                                            }
                                        }).collect_view()}
                                    </fieldset>
                                }.into_any(),
                            }}
                            {e.can_share.then(|| view! {
                                <div class="checkbox">
                                    <input type="checkbox" id="segment-shared" name="shared" value="yes" checked=d.shared/>
                                    <label for="segment-shared">"Share with all staff"</label>
                                </div>
                            })}
                            {rules}
                            {d.kind.has_rules().then(|| view! {
                                <section class="preview" aria-live="polite" aria-labelledby="preview-heading">
                                    <h2 id="preview-heading">"Preview"</h2>
                                    {if preview.problems.is_empty() {
                                        view! {
                                            <p class="live-count">{match preview.count { 1 => "1 contact matches".to_owned(), n => format!("{n} contacts match") }}</p>
                                            <ul>
                                                {preview.sample.iter().map(|(id, name)| view! { <li><a href=format!("/staff/contacts/{id}")>{name.clone()}</a></li> }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    } else {
                                        view! { <p class="live-count">"Complete the conditions marked to see who matches."</p> }.into_any()
                                    }}
                                </section>
                            })}
                            <p class="actions">
                                <button type="submit" name="intent" value="save">"Save segment"</button>
                                " "
                                <a href=cancel>"Cancel"</a>
                            </p>
                        </ActionForm>
                        </div>
                    }
                })
            })}
        </Loaded>
    }
}
