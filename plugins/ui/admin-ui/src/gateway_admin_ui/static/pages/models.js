// Models and their health: /model/info (what this login may use), and /health on demand.
import { api } from "../api.js";
import { card, el, table, when } from "../util.js";

export async function render(host, session) {
  host.append(el("h1", {}, "Models"));
  const info = await api("model/info");
  const models = info.data || [];
  host.append(card("Deployments", table([
    { label: "Model", key: "model_name" },
    { label: "Upstream", render: (m) => m.litellm_params?.model || "—" },
    { label: "Provider", render: (m) => m.model_info?.litellm_provider || m.litellm_params?.custom_llm_provider || "—" },
    { label: "rpm / tpm", render: (m) => `${m.litellm_params?.rpm ?? "—"} / ${m.litellm_params?.tpm ?? "—"}` },
    { label: "Last health check", render: (m) => when(m.model_info?.last_health_check?.checked_at || m.model_info?.health_checked_at) },
  ], models)));
  const health = el("div", { id: "health" });
  const run = el("button", { type: "button", id: "run-health", onclick: async () => {
    health.replaceChildren(el("p", { class: "muted" }, "Checking every deployment…"));
    try {
      const result = await api("health");
      const rows = [
        ...(result.healthy_endpoints || []).map((e) => ({ ...e, ok: true })),
        ...(result.unhealthy_endpoints || []).map((e) => ({ ...e, ok: false })),
      ];
      health.replaceChildren(table([
        { label: "Model", render: (e) => e.model || e.model_name || "—" },
        { label: "Status", render: (e) => el("span", { class: e.ok ? "badge good" : "badge bad" }, e.ok ? "healthy" : "unhealthy") },
        { label: "Error", render: (e) => e.error || "" },
      ], rows));
    } catch (error) {
      health.replaceChildren(el("p", { class: "error" }, error.message));
    }
  } }, "Run health check");
  if (session.role === "proxy_admin") host.append(card("Health", el("p", { class: "muted" }, "Calls each deployment once (GET /health)."), run, health));
}
