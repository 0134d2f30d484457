// Keys: list (what the API lets this login see), create (the new key shown once), block, regenerate, delete.
import { api } from "../api.js";
import { card, clearErrors, el, field, formValues, money, numberOrText, showError, table, when } from "../util.js";

async function loadKeys(session) {
  // an admin or a team admin lists keys; an internal user reads their own through /user/info, a
  // key without a user only itself: the API refuses the rest, so the UI never shows it
  try {
    const listed = await api("key/list", { query: { return_full_object: "true", size: 100 } });
    return listed.keys || [];
  } catch (error) {
    if (error.status !== 403 && error.status !== 401) throw error;
  }
  if (session.user_id) {
    const user = await api("user/info", { query: { user_id: session.user_id } });
    return user.keys || [];
  }
  const own = await api("key/info");
  return [own.info];
}

function shownOnce(title, secret) {
  return card(
    title,
    el("p", {}, "Copy it now: the gateway keeps only its hash and will not show it again."),
    el("div", { class: "secret", id: "new-key" }, secret),
  );
}

function createForm(onCreated) {
  const form = el(
    "form",
    { id: "create-key", novalidate: true },
    el("div", { class: "form-grid" },
      field("Alias", "key_alias"),
      field("Team id", "team_id"),
      field("User id", "user_id"),
      field("Models (comma-separated)", "models", { placeholder: "all the team allows" }),
      field("Max budget (USD)", "max_budget", { inputmode: "decimal" }),
      field("Budget duration", "budget_duration", { placeholder: "30d, 1mo" }),
      field("Requests per minute", "rpm_limit", { inputmode: "numeric" }),
      field("Tokens per minute", "tpm_limit", { inputmode: "numeric" }),
      field("Expires after", "duration", { placeholder: "7d, 12h (never when empty)" })),
    el("button", { type: "submit" }, "Create key"),
    el("p", { class: "error form-error", role: "alert" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const body = {};
    for (const [name, value] of Object.entries(values)) {
      if (name === "models") body.models = value.split(",").map((m) => m.trim()).filter(Boolean);
      else if (["max_budget", "rpm_limit", "tpm_limit"].includes(name)) body[name] = numberOrText(value);
      else body[name] = value;
    }
    try {
      const created = await api("key/generate", { method: "POST", body });
      form.reset();
      onCreated(created);
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

export async function render(host, session) {
  host.append(el("h1", {}, "Keys"));
  const notice = el("div", { id: "key-notice" });
  const listHost = el("div");
  host.append(notice);

  async function action(label, path, body, confirmText) {
    if (confirmText && !window.confirm(confirmText)) return;
    try {
      const result = await api(path, { method: "POST", body });
      notice.replaceChildren(result && result.key && String(result.key).startsWith("sk-")
        ? shownOnce("Regenerated key", result.key)
        : el("p", { class: "ok" }, `${label}: done.`));
      await refresh();
    } catch (error) {
      notice.replaceChildren(el("p", { class: "error" }, error.message));
    }
  }

  async function refresh() {
    const keys = await loadKeys(session);
    listHost.replaceChildren(
      table(
        [
          { label: "Alias", render: (k) => k.key_alias || "—" },
          { label: "Key", render: (k) => k.key_name || (k.token_id || "").slice(0, 10) },
          { label: "Team", render: (k) => k.team_id || "—" },
          { label: "User", render: (k) => k.user_id || "—" },
          { label: "Models", render: (k) => ((k.models || []).length ? k.models.join(", ") : "all") },
          { label: "Spend / budget", render: (k) => `${money(k.spend)} / ${k.max_budget == null ? "∞" : money(k.max_budget)}` },
          { label: "Expires", render: (k) => when(k.expires) },
          { label: "Status", render: (k) => el("span", { class: k.blocked ? "badge bad" : "badge good" }, k.blocked ? "blocked" : "active") },
          {
            label: "",
            render: (k) => el("span", { class: "actions", "data-key": k.token_id },
              k.blocked
                ? el("button", { class: "small secondary", onclick: () => action("Unblocked", "key/unblock", { key: k.token_id }) }, "Unblock")
                : el("button", { class: "small secondary", onclick: () => action("Blocked", "key/block", { key: k.token_id }) }, "Block"),
              el("button", { class: "small secondary", onclick: () => action("Regenerated", "key/regenerate", { key: k.token_id }, "Regenerate this key? The old secret stops working.") }, "Regenerate"),
              el("button", { class: "small danger", onclick: () => action("Deleted", "key/delete", { keys: [k.token_id] }, "Delete this key?") }, "Delete")),
          },
        ],
        keys,
      ),
    );
  }

  host.append(card("Create a key", createForm((created) => {
    notice.replaceChildren(shownOnce(`New key ${created.key_alias || ""}`.trim(), created.key));
    refresh();
  })));
  host.append(card("Keys", listHost));
  await refresh();
}
