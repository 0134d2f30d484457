// The request log (/spend/logs/v2): filters, pages, and a detail view of one request.
import { api } from "../api.js";
import { card, clearErrors, el, field, formValues, money, showError, table, when } from "../util.js";

const STATUSES = [["", "any"], ["success", "success"], ["failure", "failure"]];

export async function render(host) {
  host.append(el("h1", {}, "Request log"));
  const form = el("form", { id: "log-form", novalidate: true },
    el("div", { class: "form-grid" },
      field("Key (token id or sk-...)", "api_key"),
      field("Team id", "team_id"),
      field("User id", "user_id"),
      field("Model", "model"),
      field("Request id", "request_id"),
      field("Status", "status", { options: STATUSES }),
      field("From", "start_date", { type: "date" }),
      field("To", "end_date", { type: "date" })),
    el("button", { type: "submit" }, "Search"),
    el("p", { class: "error form-error", role: "alert" }));
  const out = el("div", { id: "log-rows" });
  const pager = el("div", { class: "row" });
  const detail = el("div", { id: "log-detail" });
  let page = 1;

  function showDetail(row) {
    detail.replaceChildren(card(`Request ${row.request_id}`,
      table([{ label: "Field", key: "k" }, { label: "Value", key: "v" }], [
        ["time", when(row.startTime)], ["status", row.status], ["model", `${row.model} → ${row.model_group} (${row.custom_llm_provider})`],
        ["key", `${row.metadata?.user_api_key_alias || ""} ${row.api_key}`], ["team", row.team_id || "—"], ["user", row.user || "—"],
        ["tokens", `${row.prompt_tokens} in, ${row.completion_tokens} out`], ["spend", row.cost_unknown ? "unknown (no price)" : money(row.spend_exact)],
        ["duration", `${row.request_duration_ms} ms`], ["cache hit", row.cache_hit],
      ].map(([k, v]) => ({ k, v }))),
      el("pre", {}, JSON.stringify(row, null, 2))));
    detail.scrollIntoView({ behavior: "smooth" });
  }

  async function search() {
    clearErrors(form);
    const values = formValues(form);
    const status = values.status;
    delete values.status;
    let result;
    try {
      result = await api("spend/logs/v2", { query: { ...values, page, page_size: 50 } });
    } catch (error) {
      showError(form, error);
      return;
    }
    // the ledger filters by key, team, user, model, request and date; the status within the page here
    const rows = (result.data || []).filter((r) => !status || (status === "success" ? r.status === "success" : r.status !== "success"));
    out.replaceChildren(table([
      { label: "Time", render: (r) => when(r.startTime) },
      { label: "Status", render: (r) => el("span", { class: r.status === "success" ? "badge good" : "badge bad" }, r.status) },
      { label: "Model", key: "model" },
      { label: "Key", render: (r) => r.metadata?.user_api_key_alias || String(r.api_key).slice(0, 10) },
      { label: "Team", render: (r) => r.team_id || "—" },
      { label: "Tokens", key: "total_tokens" },
      { label: "Spend", render: (r) => (r.cost_unknown ? "?" : money(r.spend_exact)) },
      { label: "ms", key: "request_duration_ms" },
    ], rows, showDetail));
    pager.replaceChildren(
      el("span", { class: "muted" }, `page ${result.page} of ${Math.max(result.total_pages, 1)} (${result.total} requests)`),
      el("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => { page -= 1; search(); } }, "Previous"),
      el("button", { type: "button", class: "secondary", disabled: page >= result.total_pages, onclick: () => { page += 1; search(); } }, "Next"));
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; search(); });
  host.append(card(null, form), card(null, out, pager), detail);
  await search();
}
