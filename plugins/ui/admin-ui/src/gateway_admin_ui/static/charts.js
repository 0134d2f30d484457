// Small SVG charts drawn by hand: vertical bars over time, horizontal bars for top lists.
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function columnChart(points, { label = (v) => v } = {}) {
  const width = 600, height = 180, pad = 24, n = Math.max(points.length, 1);
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height + pad}`, role: "img" });
  chart.append(svg("title", {}, points.map((p) => `${p.label}: ${label(p.value)}`).join("; ")));
  const step = (width - pad) / n;
  points.forEach((p, i) => {
    const h = (p.value / max) * (height - pad);
    const bar = svg("rect", { class: "bar", x: pad + i * step + 2, y: height - h, width: Math.max(step - 4, 1), height: h });
    bar.append(svg("title", {}, `${p.label}: ${label(p.value)}`));
    chart.append(bar);
    if (n <= 16 || i % Math.ceil(n / 8) === 0) {
      chart.append(svg("text", { x: pad + i * step + step / 2, y: height + 14, "text-anchor": "middle" }, p.label));
    }
  });
  chart.append(svg("text", { x: 0, y: 12 }, label(max)));
  return chart;
}

export function barList(points, { label = (v) => v } = {}) {
  const rowH = 22, width = 600, labelW = 200;
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${Math.max(points.length, 1) * rowH}`, role: "img" });
  points.forEach((p, i) => {
    const y = i * rowH;
    chart.append(svg("text", { x: 0, y: y + 15 }, String(p.label).slice(0, 30)));
    chart.append(svg("rect", { class: "bar", x: labelW, y: y + 4, width: Math.max((p.value / max) * (width - labelW - 80), 1), height: rowH - 8 }));
    chart.append(svg("text", { x: width - 75, y: y + 15 }, label(p.value)));
  });
  return chart;
}
