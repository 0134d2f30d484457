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
    { label: "Provider", render: (m) => m.model_info?.provider || "—" },
    { label: "rpm / tpm", render: (m) => `${m.model_info?.rpm ?? "—"} / ${m.model_info?.tpm ?? "—"}` },
    {
      label: "Last health check",
      render: (m) => {
        const health = m.model_info?.health;
        if (!health) return "not checked yet";
        const at = typeof health.checked_at === "number" && health.checked_at < 1e12 ? health.checked_at * 1000 : health.checked_at;
        return el("span", {}, el("span", { class: health.healthy ? "badge good" : "badge bad" }, health.healthy ? "healthy" : "unhealthy"),
          ` ${when(at)}${health.reason ? " · " + health.reason : ""}`);
      },
    },
    { label: "Cooldown", render: (m) => (m.model_info?.cooldown_seconds_left ? `${m.model_info.cooldown_seconds_left} s left` : "—") },
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
