// DOM helpers: text always goes in through textContent, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function money(value) {
  if (value === null || value === undefined || value === "") return "—";
  const number = Number(value);
  return "$" + (number !== 0 && Math.abs(number) < 0.01 ? number.toPrecision(3) : number.toFixed(2));
}

export function when(value) {
  if (!value) return "—";
  const date = new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleString();
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function table(columns, rows, onRowClick) {
  const head = el("tr", {}, columns.map((c) => el("th", {}, c.label)));
  const body = rows.map((row) =>
    el(
      "tr",
      { class: onRowClick ? "clickable" : null, onclick: onRowClick ? () => onRowClick(row) : null },
      columns.map((c) => el("td", { "data-label": c.label }, c.render ? c.render(row) : row[c.key] ?? "—")),
    ),
  );
  if (!rows.length) body.push(el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, "Nothing yet.")));
  return el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
}

export function card(title, ...children) {
  return el("section", { class: "card" }, title ? el("h2", {}, title) : null, ...children);
}

export function field(label, name, attrs = {}) {
  const id = "f-" + name;
  return el(
    "div",
    { class: "field" },
    el("label", { for: id }, label),
    attrs.options
      ? el("select", { id, name }, attrs.options.map(([v, t]) => el("option", { value: v }, t)))
      : el("input", { id, name, ...attrs }),
    el("div", { class: "field-error", "data-error-for": name }),
  );
}

// Show an API error next to the field it names (the API's own message), else at the form's foot.
export function showError(form, error) {
  form.querySelectorAll(".field-error").forEach((n) => (n.textContent = ""));
  const base = error.param ? String(error.param).split(/[.[]/)[0] : null;
  const slot = base && form.querySelector(`[data-error-for="${CSS.escape(base)}"]`);
  const target = slot || form.querySelector(".form-error");
  if (target) target.textContent = error.message;
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((n) => (n.textContent = ""));
}

export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (String(value).trim() !== "") values[name] = String(value).trim();
  }
  return values;
}

export function numberOrText(value) {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

export function csvDownload(filename, header, rows) {
  const quote = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const text = [header, ...rows].map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
