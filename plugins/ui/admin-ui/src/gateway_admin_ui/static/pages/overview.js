// Overview: spend today and this month, requests, errors and latency, top teams, keys and models.
import { api } from "../api.js";
import { barList, columnChart } from "../charts.js";
import { card, el, isoDay, money } from "../util.js";

function stat(label, value, id) {
  return el("div", { class: "card stat", id }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function ownOverview(host, session) {
  // not an admin: the reports are the admin's; a key sees its own spend (/key/info answers for the caller)
  const info = await api("key/info");
  const key = info.info || info;
  host.append(
    el("div", { class: "grid" },
      stat("your key's spend", money(key.spend), "stat-key-spend"),
      stat("its budget", key.max_budget === null || key.max_budget === undefined ? "none" : money(key.max_budget)),
      stat("its models", (key.models || []).length ? key.models.join(", ") : "all its team allows")),
    el("p", { class: "muted" }, "Spend reports across keys and teams need an admin key."),
  );
}

export async function render(host, session) {
  host.append(el("h1", {}, "Overview"));
  if (session.role !== "proxy_admin") return ownOverview(host, session);
  const today = isoDay(new Date());
  const monthStart = today.slice(0, 8) + "01";
  const [todayModels, monthModels, monthTeams, monthKeys, recent, keyList] = await Promise.all([
    api("global/spend/report", { query: { start_date: today, end_date: today, group_by: "model" } }),
    api("global/spend/report", { query: { start_date: monthStart, end_date: today, group_by: "model" } }),
    api("global/spend/report", { query: { start_date: monthStart, end_date: today, group_by: "team" } }),
    api("global/spend/report", { query: { start_date: monthStart, end_date: today, group_by: "api_key" } }),
    api("spend/logs/v2", { query: { start_date: today, end_date: today, page_size: 1000 } }).catch(() => ({ data: [] })),
    api("key/list", { query: { return_full_object: "true", size: 100 } }).catch(() => ({ keys: [] })),
  ]);
  // the report names keys by token id: show their alias where the key list has it
  const aliases = Object.fromEntries((keyList.keys || []).map((k) => [k.token_id, k.key_alias || k.key_name]));
  const sum = (rows, k) => rows.reduce((s, r) => s + Number(r[k] || 0), 0);
  const rows = recent.data || [];
  const errors = rows.filter((r) => r.status && r.status !== "success").length;
  const latencies = rows.map((r) => Number(r.request_duration_ms)).filter((v) => !isNaN(v)).sort((a, b) => a - b);
  const ms = (v) => (v === null ? "—" : `${Math.round(v)} ms`);
  host.append(
    el("div", { class: "grid" },
      stat("spend today", money(sum(todayModels, "total_cost")), "stat-spend-today"),
      stat("spend this month", money(sum(monthModels, "total_cost")), "stat-spend-month"),
      stat("requests today", String(sum(todayModels, "api_requests")), "stat-requests-today"),
      stat("requests this month", String(sum(monthModels, "api_requests"))),
      stat(`errors today${rows.length >= 1000 ? " (last 1000)" : ""}`, String(errors)),
      stat("p50 / p99 latency today", `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}`)),
  );
  const days = monthTeams.map((d) => ({
    label: d.group_by_day.slice(5, 10),
    value: (d.teams || []).reduce((s, t) => s + Number(t.total_spend || 0), 0),
  }));
  host.append(card("Spend per day this month", el("div", { id: "chart-daily" }, columnChart(days, { label: money }))));
  const teams = {};
  for (const day of monthTeams) for (const t of day.teams || []) teams[t.team_name] = (teams[t.team_name] || 0) + Number(t.total_spend || 0);
  const top = (entries) => entries.sort((a, b) => b.value - a.value).slice(0, 8);
  host.append(
    card("Top teams", barList(top(Object.entries(teams).map(([label, value]) => ({ label, value }))), { label: money })),
    card("Top keys", barList(top(monthKeys.map((k) => ({ label: aliases[k.api_key] || k.api_key || "—", value: Number(k.total_cost) }))), { label: money })),
    card("Top models", el("div", { id: "chart-models" }, barList(top(monthModels.map((m) => ({ label: m.model || "—", value: Number(m.total_cost) }))), { label: money }))),
  );
}
