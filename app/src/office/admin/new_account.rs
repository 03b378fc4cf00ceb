//! A new account, and the role and unit pickers the account forms share.

use super::*;

/// The form that creates an account with a first password.
#[component]
pub(super) fn NewAccountForm(units: Resource<Result<Vec<AdminUnit>, FnError>>) -> AnyView {
    let tr = use_t();
    let Locale(lang) = use_locale();
    let admin = expect_context::<AdminState>();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let roles = RwSignal::new(Vec::<Role>::new());
    let assigned = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let created = RwSignal::new(None::<String>);

    let create = Action::new(move |account: &NewAccount| {
        let account = account.clone();
        async move {
            match create_account(account).await {
                Ok(summary) => {
                    // The first password stays in its box: the notice asks the
                    // administrator to pass it on.
                    for text in [username, display_name, phone] {
                        text.set(String::new());
                    }
                    roles.set(Vec::new());
                    assigned.set(Vec::new());
                    error.set(None);
                    created.set(Some(summary.username));
                    admin.reload.update(|v| *v += 1);
                }
                Err(FnError(body)) => {
                    created.set(None);
                    error.set(Some(body));
                }
            }
        }
    });
    let creating = create.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if creating.get_untracked() {
            return;
        }
        error.set(None);
        created.set(None);
        create.dispatch(NewAccount {
            username: username.get_untracked().trim().to_lowercase(),
            display_name: display_name.get_untracked().trim().to_string(),
            phone: optional(&phone.get_untracked()),
            password: password.get_untracked(),
            roles: roles.get_untracked(),
            units: assigned.get_untracked(),
        });
    };
    let hint =
        move || tr("admin.first_password_hint").replace("{min}", &MIN_PASSWORD_LEN.to_string());

    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            // Without the units (not an administrator) there is no form: the list above shows why.
            {move || units.get().map(|result| result.ok().map(|list| {
                let list = Arc::new(list);
                view! {
                    <section class="card admin-create">
                        <h2>{move || tr("admin.create_title")}</h2>
                        <form class="form" data-testid="account-create-form" on:submit=submit>
                            <div class="field">
                                <label for="new-username">{move || tr("admin.username")}</label>
                                <input
                                    id="new-username"
                                    data-testid="new-username"
                                    autocomplete="off"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    required
                                    prop:value=move || username.get()
                                    on:input=move |ev| username.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-display-name">{move || tr("admin.display_name")}</label>
                                <input
                                    id="new-display-name"
                                    data-testid="new-display-name"
                                    autocomplete="off"
                                    required
                                    prop:value=move || display_name.get()
                                    on:input=move |ev| display_name.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-phone">{move || tr("admin.phone")}</label>
                                <input
                                    id="new-phone"
                                    type="tel"
                                    inputmode="tel"
                                    data-testid="new-phone"
                                    autocomplete="off"
                                    prop:value=move || phone.get()
                                    on:input=move |ev| phone.set(event_target_value(&ev))
                                />
                            </div>
                            <div class="field">
                                <label for="new-password">{move || tr("admin.first_password")}</label>
                                <p class="hint">{hint}</p>
                                // Visible text: the administrator has to pass it on to the user.
                                <input
                                    id="new-password"
                                    type="text"
                                    data-testid="new-password"
                                    autocomplete="off"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    required
                                    prop:value=move || password.get()
                                    on:input=move |ev| password.set(event_target_value(&ev))
                                />
                            </div>
                            <fieldset class="field">
                                <legend>{move || tr("admin.roles")}</legend>
                                <RolePicker selected=roles prefix="new-role"/>
                            </fieldset>
                            <fieldset class="field">
                                <legend>{move || tr("admin.units")}</legend>
                                <p class="hint">{move || tr("admin.units_hint")}</p>
                                <UnitPicker units=list.clone() selected=assigned testid="new-units"/>
                            </fieldset>
                            <Show when=move || error.get().is_some()>
                                <p class="error-banner" role="alert" data-testid="admin-error">
                                    {move || error.get().map(|b| error_text(lang.get(), &b)).unwrap_or_default()}
                                </p>
                            </Show>
                            <Show when=move || created.get().is_some()>
                                <p class="notice" role="status" data-testid="admin-notice">
                                    {move || created.get().map(|u| tr("admin.created").replace("{username}", &u)).unwrap_or_default()}
                                </p>
                            </Show>
                            <div class="admin-actions">
                                <button type="submit" class="btn btn-primary" data-testid="account-create-submit" disabled=move || creating.get()>
                                    {move || if creating.get() { tr("admin.creating") } else { tr("admin.create") }}
                                </button>
                            </div>
                        </form>
                    </section>
                }
            }))}
        </Suspense>
    }
    .into_any()
}

/// One checkbox per role; `prefix` makes the test ids (`{prefix}-inspector`, …).
#[component]
pub(super) fn RolePicker(selected: RwSignal<Vec<Role>>, prefix: &'static str) -> impl IntoView {
    let tr = use_t();
    let boxes = ROLES
        .into_iter()
        .map(|role| {
            view! {
                <label class="choice">
                    <input
                        type="checkbox"
                        value=role.as_str()
                        data-testid=format!("{prefix}-{}", role.as_str())
                        prop:checked=move || selected.with(|s| s.contains(&role))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| {
                                s.retain(|r| *r != role);
                                if on {
                                    s.push(role);
                                }
                            });
                        }
                    />
                    {move || tr(&format!("role.{}", role.as_str()))}
                </label>
            }
        })
        .collect_view();
    view! { <div class="role-picker">{boxes}</div> }
}

/// One checkbox per unit (value = its key, "tree/code"), indented as a tree;
/// each tree's root names the tree.
#[component]
pub(super) fn UnitPicker(
    units: Arc<Vec<AdminUnit>>,
    selected: RwSignal<Vec<String>>,
    testid: &'static str,
) -> impl IntoView {
    let boxes = tree_order(&units)
        .into_iter()
        .map(|(depth, unit)| {
            let code = unit.key();
            let checked_code = unit.key();
            let tree_name = (depth == 0).then(|| unit.tree.clone());
            view! {
                <label class=format!("choice unit-choice unit-depth-{}", depth.min(3))>
                    <input
                        type="checkbox"
                        value=unit.key()
                        prop:checked=move || selected.with(|s| s.contains(&checked_code))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| {
                                s.retain(|c| c != &code);
                                if on {
                                    s.push(code.clone());
                                }
                            });
                        }
                    />
                    <span>{unit.full_name()}</span>
                    <span class="muted unit-code">{unit.code.clone()}</span>
                    {tree_name.map(|t| view! { <span class="muted unit-tree">{t}</span> })}
                </label>
            }
        })
        .collect_view();
    view! { <div class="unit-picker" data-testid=testid>{boxes}</div> }
}
