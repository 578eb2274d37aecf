//! Pages of the users slice: the user list and editor, groups, and the audit log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    list_audit, list_groups, list_users, load_group, load_profile, load_user, ChangeOwnPassword,
    CreatePasswordLink, DeleteGroup, DeleteUser, RenameSelf, ResetUserPassword, SaveGroup, SaveUser,
    SetPasswordWithLink, SetUserActive,
};
use super::UserPage;
use crate::accounts::Permission;
use crate::error::AppError;
use crate::ui::{error_of, href, id_param, saved_notice, FormAlert, FormField, Loaded, Pager};

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).unwrap_or_default();
    let users = Resource::new(
        move || query.get(),
        |q| {
            list_users(
                q.get("q"),
                q.get("kind").filter(|k| !k.is_empty()),
                q.get("group").and_then(|g| g.parse().ok()),
                q.get("active").and_then(|a| a.parse().ok()),
                q.get("page").and_then(|p| p.parse().ok()),
            )
        },
    );
    let groups = Resource::new(|| (), |_| list_groups());
    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        {saved_notice()}
        <form method="get" action="/staff/users" class="filters" role="search" aria-label="Filter users">
            <div class="field">
                <label for="users-q">"Search"</label>
                <input id="users-q" name="q" type="search" placeholder="Name or email" value=move || param("q")/>
            </div>
            <div class="field">
                <label for="users-kind">"Kind"</label>
                <select id="users-kind" name="kind">
                    <option value="">"All"</option>
                    <option value="staff" selected=move || param("kind") == "staff">"Staff"</option>
                    <option value="client" selected=move || param("kind") == "client">"Client"</option>
                </select>
            </div>
            <div class="field">
                <label for="users-group">"Group"</label>
                <select id="users-group" name="group">
                    <option value="">"Any"</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            groups.await.unwrap_or_default().into_iter().map(|g| {
                                let id = g.id.to_string();
                                let selected = param("group") == id;
                                view! { <option value=id selected=selected>{g.name}</option> }
                            }).collect_view()
                        })}
                    </Transition>
                </select>
            </div>
            <div class="field">
                <label for="users-active">"Status"</label>
                <select id="users-active" name="active">
                    <option value="">"All"</option>
                    <option value="true" selected=move || param("active") == "true">"Active"</option>
                    <option value="false" selected=move || param("active") == "false">"Waiting or deactivated"</option>
                </select>
            </div>
            <button type="submit">"Filter"</button>
        </form>
        <Loaded>
            {move || Suspend::new(async move {
                let filters: Vec<(&'static str, String)> =
                    ["q", "kind", "group", "active"].into_iter().map(|k| (k, param(k))).collect();
                let page_href = move |n: i64| {
                    let n = n.to_string();
                    let mut pairs: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    pairs.push(("page", &n));
                    href("/staff/users", &pairs)
                };
                users.await.map(|page: UserPage| view! {
                    <p>{format!("{} users", page.total)}</p>
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Email"</th>
                                <th scope="col">"Kind"</th>
                                <th scope="col">"Groups"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Administrator"</th>
                                <th scope="col">"Last sign-in"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.users.into_iter().map(|u| view! {
                                <tr>
                                    <td><a href=format!("/staff/users/{}", u.id)>{u.display_name}</a></td>
                                    <td>{u.email}</td>
                                    <td>{match u.kind { crate::accounts::UserKind::Staff => "Staff", crate::accounts::UserKind::Client => "Client" }}</td>
                                    <td>{u.groups.join(", ")}</td>
                                    <td>{if u.is_active { "Active" } else { "Inactive" }}</td>
                                    <td>{if u.is_admin { "Yes" } else { "No" }}</td>
                                    <td>{u.last_login.unwrap_or_else(|| "Never".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Pager href=page_href page=page.page pages=page.pages/>
                })
            })}
        </Loaded>
    }
}

#[component]
pub fn UserEditPage() -> impl IntoView {
    let id = id_param();
    let save = ServerAction::<SaveUser>::new();
    let activate = ServerAction::<SetUserActive>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let link = ServerAction::<CreatePasswordLink>::new();
    let editor = Resource::new(
        move || (id.get(), save.version().get(), activate.version().get(), reset.version().get()),
        |(id, ..)| async move {
            match id {
                Some(id) => load_user(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let (save_error, activate_error, reset_error, delete_error) = (
        error_of(save.value()),
        error_of(activate.value()),
        error_of(reset.value()),
        error_of(delete.value()),
    );
    view! {
        <Title text="Edit user"/>
        <Loaded heading="User">
            {move || Suspend::new(async move {
                editor.await.map(|e| {
                    let user = e.user.clone();
                    let id = user.id;
                    let (name, email) = (user.display_name.clone(), user.email.clone());
                    let delete_label = format!("Yes, delete {} for good", user.display_name);
                    let groups = e.groups.clone();
                    let member_of = e.group_ids.clone();
                    let colleagues = e.colleagues.clone();
                    let owned = e.owned_contacts;
                    view! {
                        <h1>{user.display_name}</h1>
                        <p><a href="/staff/users">"Back to all users"</a></p>
                        {saved_notice()}
                        <section class="card" aria-labelledby="details-heading">
                            <h2 id="details-heading">"Details"</h2>
                            <ActionForm action=save>
                                <FormAlert error=save_error/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <FormField label="Name" name="display_name" value=name required=true error=save_error/>
                                <FormField label="Email" name="email" input_type="email" value=email required=true error=save_error/>
                                <div class="field checkbox">
                                    <input type="checkbox" id="field-is_admin" name="is_admin" value="true" checked=user.is_admin/>
                                    <label for="field-is_admin">"Administrator (may do everything)"</label>
                                </div>
                                {move || save_error.get().and_then(|e| e.field("is_admin")).map(|m| view! { <p class="field-error">{m}</p> })}
                                {(user.kind == crate::accounts::UserKind::Staff).then(|| view! {
                                    <fieldset>
                                        <legend>"Groups"</legend>
                                        {groups.iter().map(|(gid, name)| {
                                            let field = format!("group-{gid}");
                                            view! {
                                                <div class="checkbox">
                                                    <input type="checkbox" id=field.clone() name="group_ids[]" value=gid.to_string() checked=member_of.contains(gid)/>
                                                    <label for=field>{name.clone()}</label>
                                                </div>
                                            }
                                        }).collect_view()}
                                    </fieldset>
                                })}
                                <button type="submit">"Save changes"</button>
                            </ActionForm>
                        </section>
                        <section class="card" aria-labelledby="access-heading">
                            <h2 id="access-heading">"Access"</h2>
                            <p>{if user.is_active { "This account is active." } else { "This account is not active: it cannot sign in." }}</p>
                            <ActionForm action=activate>
                                <FormAlert error=activate_error/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="active" value=(!user.is_active).to_string()/>
                                <button type="submit" class="secondary">{if user.is_active { "Deactivate account" } else { "Activate account" }}</button>
                            </ActionForm>
                        </section>
                        <section class="card" aria-labelledby="password-heading">
                            <h2 id="password-heading">"Password"</h2>
                            <ActionForm action=reset>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <FormField label="New temporary password" name="password" input_type="password" autocomplete="new-password" hint="Tell the person in person; their open sessions end." required=true secret=true error=reset_error/>
                                <button type="submit" class="secondary">"Set password"</button>
                            </ActionForm>
                        </section>
                        <section class="card" aria-labelledby="link-heading">
                            <h2 id="link-heading">"Set-password link"</h2>
                            <p class="hint">"A link that lets this person choose their own password. It works once, for 24 hours; there is no mail server, so copy it to them yourself."</p>
                            <ActionForm action=link>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <button type="submit" class="secondary">"Create a one-time link"</button>
                            </ActionForm>
                            {move || link.value().get().map(|r| match r {
                                Ok(url) => view! {
                                    <div class="field">
                                        <label for="password-link">"Link to send"</label>
                                        <input id="password-link" type="text" readonly=true value=url/>
                                    </div>
                                }.into_any(),
                                Err(e) => view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }.into_any(),
                            })}
                        </section>
                        {(!e.is_self).then(|| view! {
                            <section class="card danger" aria-labelledby="delete-heading">
                                <h2 id="delete-heading">"Delete"</h2>
                                <ActionForm action=delete>
                                    <FormAlert error=delete_error/>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <div class="field">
                                        <label for="field-new_owner">{format!("Give their contacts ({owned}) to")}</label>
                                        <select id="field-new_owner" name="new_owner">
                                            <option value="">"Nobody"</option>
                                            {colleagues.into_iter().map(|(cid, cname)| view! { <option value=cid.to_string()>{cname}</option> }).collect_view()}
                                        </select>
                                        {move || delete_error.get().and_then(|e| e.field("new_owner")).map(|m| view! { <p class="field-error">{m}</p> })}
                                    </div>
                                    <div class="checkbox">
                                        <input type="checkbox" id="field-confirm" name="confirm" value="yes" required=true/>
                                        <label for="field-confirm">{delete_label}</label>
                                    </div>
                                    <button type="submit" class="danger">"Delete user"</button>
                                </ActionForm>
                            </section>
                        })}
                    }
                })
            })}
        </Loaded>
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    view! {
        <Title text="Groups"/>
        <h1>"Groups"</h1>
        {saved_notice()}
        <p><a class="button" href="/staff/groups/new">"New group"</a></p>
        <Loaded>
            {move || Suspend::new(async move {
                groups.await.map(|groups| view! {
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Group"</th>
                                <th scope="col">"Description"</th>
                                <th scope="col">"Permissions"</th>
                                <th scope="col">"Members"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {groups.into_iter().map(|g| view! {
                                <tr>
                                    <td><a href=format!("/staff/groups/{}", g.id)>{g.name}</a></td>
                                    <td>{g.description}</td>
                                    <td>{g.permissions.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ")}</td>
                                    <td>{g.members.len()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })
            })}
        </Loaded>
    }
}

#[component]
pub fn GroupEditPage() -> impl IntoView {
    let id = id_param();
    let save = ServerAction::<SaveGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let editor = Resource::new(move || (id.get(), save.version().get()), |(id, _)| load_group(id));
    let (save_error, delete_error) = (error_of(save.value()), error_of(delete.value()));
    view! {
        <Loaded heading="Group">
            {move || Suspend::new(async move {
                editor.await.map(|e| {
                    let group = e.group.clone();
                    let title = group.as_ref().map(|g| g.name.clone()).unwrap_or_else(|| "New group".into());
                    let granted: Vec<Permission> = group.as_ref().map(|g| g.permissions.clone()).unwrap_or_default();
                    let members: Vec<i64> = group.as_ref().map(|g| g.members.iter().map(|(m, _)| *m).collect()).unwrap_or_default();
                    let group_id = group.as_ref().map(|g| g.id);
                    let name = group.as_ref().map(|g| g.name.clone()).unwrap_or_default();
                    let description = group.as_ref().map(|g| g.description.clone()).unwrap_or_default();
                    let staff = e.staff.clone();
                    view! {
                        <Title text=title.clone()/>
                        <h1>{title.clone()}</h1>
                        <p><a href="/staff/groups">"Back to all groups"</a></p>
                        {saved_notice()}
                        <ActionForm action=save>
                            <FormAlert error=save_error/>
                            {group_id.map(|gid| view! { <input type="hidden" name="id" value=gid.to_string()/> })}
                            <FormField label="Name" name="name" value=name required=true error=save_error/>
                            <FormField label="Description" name="description" value=description error=save_error/>
                            <fieldset>
                                <legend>"Permissions"</legend>
                                {Permission::ALL.into_iter().map(|p| {
                                    let field = format!("perm-{}", p.key());
                                    view! {
                                        <div class="checkbox">
                                            <input type="checkbox" id=field.clone() name="permissions[]" value=p.key() checked=granted.contains(&p)/>
                                            <label for=field>{p.label()}</label>
                                        </div>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <fieldset>
                                <legend>"Members"</legend>
                                {staff.iter().map(|(uid, name)| {
                                    let field = format!("member-{uid}");
                                    view! {
                                        <div class="checkbox">
                                            <input type="checkbox" id=field.clone() name="member_ids[]" value=uid.to_string() checked=members.contains(uid)/>
                                            <label for=field>{name.clone()}</label>
                                        </div>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <button type="submit">"Save group"</button>
                        </ActionForm>
                        {group.map(|g| view! {
                            <section class="card danger" aria-labelledby="delete-heading">
                                <h2 id="delete-heading">"Delete"</h2>
                                <ActionForm action=delete>
                                    <FormAlert error=delete_error/>
                                    <input type="hidden" name="id" value=g.id.to_string()/>
                                    <div class="checkbox">
                                        <input type="checkbox" id="field-confirm" name="confirm" value="yes" required=true/>
                                        <label for="field-confirm">{format!("Yes, delete {} ({} members lose its permissions)", g.name, g.members.len())}</label>
                                    </div>
                                    <button type="submit" class="danger">"Delete group"</button>
                                </ActionForm>
                            </section>
                        })}
                    }
                })
            })}
        </Loaded>
    }
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let audit =
        Resource::new(move || query.read().get("page").and_then(|p| p.parse::<i64>().ok()), list_audit);
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <Loaded>
            {move || Suspend::new(async move {
                audit.await.map(|page| view! {
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"Who"</th>
                                <th scope="col">"What"</th>
                                <th scope="col">"Subject"</th>
                                <th scope="col">"Before"</th>
                                <th scope="col">"After"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.entries.into_iter().map(|e| view! {
                                <tr>
                                    <td>{e.at}</td>
                                    <td>{e.actor_name}</td>
                                    <td>{e.action}</td>
                                    <td>{e.subject}</td>
                                    <td><code>{e.before.unwrap_or_default()}</code></td>
                                    <td><code>{e.after.unwrap_or_default()}</code></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Pager href=|n| format!("/staff/audit?page={n}") page=page.page pages=page.pages/>
                })
            })}
        </Loaded>
    }
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let rename = ServerAction::<RenameSelf>::new();
    let change = ServerAction::<ChangeOwnPassword>::new();
    let query = use_query_map();
    let profile = Resource::new(move || rename.version().get(), |_| load_profile());
    let (rename_error, change_error) = (error_of(rename.value()), error_of(change.value()));
    let notice = move || {
        let q = query.read();
        if q.get("password").is_some() {
            Some("Your password is changed. Your other sessions have ended.")
        } else if q.get("saved").is_some() {
            Some("Your name is saved.")
        } else {
            None
        }
    };
    view! {
        <Title text="Your profile"/>
        <h1>"Your profile"</h1>
        {move || notice().map(|n| view! { <div class="alert alert-ok" role="status">{n}</div> })}
        <Loaded>
            {move || Suspend::new(async move {
                profile.await.map(|p| view! {
                    <section class="card" aria-labelledby="name-heading">
                        <h2 id="name-heading">"Your name"</h2>
                        <p>{format!("You sign in as {}.", p.email)}</p>
                        <ActionForm action=rename>
                            <FormField label="Name" name="display_name" autocomplete="name" value=p.display_name required=true error=rename_error/>
                            <button type="submit">"Save name"</button>
                        </ActionForm>
                    </section>
                })
            })}
        </Loaded>
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change your password"</h2>
            <ActionForm action=change>
                <FormField label="Current password" name="current_password" input_type="password" autocomplete="current-password" required=true secret=true error=change_error/>
                <FormField label="New password" name="new_password" input_type="password" autocomplete="new-password" hint="At least 15 characters. Your other sessions end when you change it." required=true secret=true error=change_error/>
                <button type="submit">"Change password"</button>
            </ActionForm>
        </section>
    }
}

/// Where a one-time link leads: choose a new password, then sign in with it.
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let action = ServerAction::<SetPasswordWithLink>::new();
    let query = use_query_map();
    let error = error_of(action.value());
    let token = move || {
        error.get().and_then(|e| e.value("token")).or_else(|| query.read().get("token")).unwrap_or_default()
    };
    view! {
        <Title text="Choose a password"/>
        <div class="card narrow">
            <h1>"Choose a password"</h1>
            <ActionForm action>
                <FormAlert error/>
                <input type="hidden" name="token" prop:value=token value=token/>
                <FormField label="New password" name="password" input_type="password" autocomplete="new-password" hint="At least 15 characters. A few unrelated words make a strong, memorable passphrase." required=true secret=true error/>
                <button type="submit">"Set password"</button>
            </ActionForm>
        </div>
    }
}
