// Teams: list, create, and a team's members (add one).
import { api } from "../api.js";
import { card, clearErrors, el, field, formValues, money, numberOrText, showError, table } from "../util.js";

function teamForm(onCreated) {
  const form = el("form", { id: "create-team", novalidate: true },
    el("div", { class: "form-grid" },
      field("Alias", "team_alias"),
      field("Max budget (USD)", "max_budget", { inputmode: "decimal" }),
      field("Budget duration", "budget_duration", { placeholder: "30d, 1mo" }),
      field("Models (comma-separated)", "models", { placeholder: "all" })),
    el("button", { type: "submit" }, "Create team"),
    el("p", { class: "error form-error", role: "alert" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    for (const [name, value] of Object.entries(formValues(form))) {
      body[name] = name === "models" ? value.split(",").map((m) => m.trim()).filter(Boolean)
        : name === "max_budget" ? numberOrText(value) : value;
    }
    try {
      onCreated(await api("team/new", { method: "POST", body }));
      form.reset();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

async function detail(host, team) {
  const info = await api("team/info", { query: { team_id: team.team_id } });
  const data = info.team_info || info;
  const members = data.members_with_roles || [];
  const form = el("form", { id: "add-member", novalidate: true },
    el("div", { class: "form-grid" },
      field("User id", "user_id"),
      field("Role", "role", { options: [["user", "user"], ["admin", "admin"]] })),
    el("button", { type: "submit" }, "Add member"),
    el("p", { class: "error form-error", role: "alert" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    try {
      await api("team/member_add", { method: "POST", body: { team_id: team.team_id, member: { user_id: values.user_id, role: values.role } } });
      await detail(host, team);
    } catch (error) {
      showError(form, error);
    }
  });
  host.replaceChildren(card(`Team ${data.team_alias || data.team_id}`,
    el("p", { class: "muted" }, `id ${data.team_id} · spend ${money(data.spend)} · budget ${data.max_budget == null ? "none" : money(data.max_budget)}`),
    table([{ label: "User", key: "user_id" }, { label: "Role", key: "role" }], members),
    form));
}

export async function render(host) {
  host.append(el("h1", {}, "Teams"));
  const listHost = el("div");
  const detailHost = el("div", { id: "team-detail" });
  async function refresh() {
    let teams;
    try {
      teams = await api("team/list");
    } catch (error) {
      listHost.replaceChildren(el("p", { class: "muted" }, error.message));
      return;
    }
    teams = Array.isArray(teams) ? teams : teams.teams || teams.data || [];
    listHost.replaceChildren(table([
      { label: "Alias", render: (t) => t.team_alias || "—" },
      { label: "Id", key: "team_id" },
      { label: "Members", render: (t) => String((t.members_with_roles || []).length) },
      { label: "Spend / budget", render: (t) => `${money(t.spend)} / ${t.max_budget == null ? "∞" : money(t.max_budget)}` },
      { label: "Models", render: (t) => ((t.models || []).length ? t.models.join(", ") : "all") },
      { label: "Status", render: (t) => (t.blocked ? "blocked" : "active") },
    ], teams, (t) => detail(detailHost, t).catch((e) => detailHost.replaceChildren(el("p", { class: "error" }, e.message)))));
  }
  host.append(card("Create a team", teamForm(() => refresh())));
  host.append(card("Teams", listHost), detailHost);
  await refresh();
}
