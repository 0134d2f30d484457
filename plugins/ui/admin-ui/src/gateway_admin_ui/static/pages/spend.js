// Spend reports: /global/spend/report over a date range, grouped, with a CSV export.
import { api } from "../api.js";
import { card, csvDownload, el, field, isoDay, money, showError, clearErrors, table } from "../util.js";

const GROUPS = [["team", "team"], ["api_key", "key"], ["model", "model"], ["customer", "customer"], ["organization", "organization"], ["tag", "tag"]];

// one row per (day, entity) for the grouped-by-day shapes, one per entity for keys and models
function flatten(report, groupBy) {
  if (groupBy === "api_key" || groupBy === "model") {
    return report.map((r) => ({
      day: "", name: r.api_key || r.model, spend: r.total_cost_exact ?? r.total_cost,
      requests: r.api_requests, input: r.total_input_tokens, output: r.total_output_tokens,
      tokens: Number(r.total_input_tokens || 0) + Number(r.total_output_tokens || 0),
    }));
  }
  const plural = { team: "teams", customer: "customers", organization: "organizations", tag: "tags" }[groupBy];
  const rows = [];
  for (const day of report) {
    for (const entity of day[plural] || []) {
      const tokens = (entity.metadata || []).reduce((s, m) => s + Number(m.total_tokens || 0), 0);
      rows.push({
        day: day.group_by_day.slice(0, 10),
        name: entity.team_name || entity.customer || entity.organization_id || entity.tag || "—",
        // these reports count tokens per entity, not requests nor tokens in and out apart
        spend: entity.total_spend_exact ?? entity.total_spend, requests: "", input: "", output: "", tokens,
      });
    }
  }
  return rows;
}

export async function render(host) {
  host.append(el("h1", {}, "Spend reports"));
  const today = new Date();
  const form = el("form", { id: "spend-form", novalidate: true },
    el("div", { class: "row" },
      field("From", "start_date", { type: "date", value: isoDay(new Date(today.getTime() - 29 * 86400000)) }),
      field("To", "end_date", { type: "date", value: isoDay(today) }),
      field("Group by", "group_by", { options: GROUPS })),
    el("button", { type: "submit" }, "Show"),
    el("button", { type: "button", class: "secondary", id: "spend-csv" }, "Export CSV"),
    el("p", { class: "error form-error", role: "alert" }));
  const out = el("div", { id: "spend-report" });
  let last = [];
  async function show() {
    clearErrors(form);
    const query = Object.fromEntries(new FormData(form).entries());
    try {
      last = flatten(await api("global/spend/report", { query }), query.group_by);
    } catch (error) {
      showError(form, error);
      return;
    }
    out.replaceChildren(table([
      { label: "Day", key: "day" }, { label: "Name", key: "name" },
      { label: "Spend", render: (r) => money(r.spend) }, { label: "Requests", key: "requests" },
      { label: "Tokens in", key: "input" }, { label: "Tokens out", key: "output" }, { label: "Tokens", key: "tokens" },
    ], last));
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  form.querySelector("#spend-csv").addEventListener("click", () => {
    const query = Object.fromEntries(new FormData(form).entries());
    csvDownload(`spend-${query.group_by}-${query.start_date}-${query.end_date}.csv`,
      ["day", "name", "spend_usd", "requests", "input_tokens", "output_tokens", "total_tokens"],
      last.map((r) => [r.day, r.name, r.spend, r.requests, r.input, r.output, r.tokens]));
  });
  host.append(card(null, form), card(null, out));
  await show();
}
