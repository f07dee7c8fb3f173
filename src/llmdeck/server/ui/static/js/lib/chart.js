// Small SVG line charts: responsive, with a pointer and keyboard read-out, an accessible name
// summarising the data, and the data itself as a table for screen readers and copying.

import { h } from "./dom.js";
import { tick, when } from "./format.js";

const PAD = { top: 8, right: 8, bottom: 20, left: 46 };
const CHAR = 6;  // px per character of an axis label (10 px font)

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * lineChart({title, series: [{name, points: [[t, v|null], ...]}], format, height}): a <figure>.
 * `format` renders a value; null values are gaps.
 */
export function lineChart({ title, series, format = String, height = 150 }) {
  const times = series[0]?.points.map((p) => p[0]) ?? [];
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => v !== null && v !== undefined));
  const max = niceMax(Math.max(0, ...values));
  const last = (s) => [...s.points].reverse().find((p) => p[1] !== null && p[1] !== undefined)?.[1];
  const summary = series.map((s) => {
    const known = s.points.map((p) => p[1]).filter((v) => v !== null && v !== undefined);
    if (!known.length) return `${s.name}: no data`;
    return `${s.name}: latest ${format(last(s))}, peak ${format(Math.max(...known))}`;
  }).join("; ");
  const pad = { ...PAD };
  const id = `c${Math.random().toString(36).slice(2, 8)}`;
  const svg = h("svg:svg", { role: "img", "aria-label": `${title}. ${summary}`, tabindex: "0", focusable: "true" });
  const tip = h("div", { class: "tip", hidden: true });
  const plot = h("div", { class: "plot" }, svg, tip);
  let width = 0;
  let cursor = -1;

  const t0 = times[0] ?? 0;
  const t1 = times[times.length - 1] ?? 0;
  const x = (i) => {
    const inner = width - pad.left - pad.right;
    return pad.left + (t1 > t0 ? ((times[i] - t0) / (t1 - t0)) * inner : inner / 2);
  };
  const y = (v) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);

  function draw() {
    pad.left = Math.max(28, ...[0, 0.5, 1].map((share) => String(format(max * share)).length * CHAR + 8));
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", String(height));
    const axis = h("svg:g", { class: "axis" });
    for (const share of [0, 0.5, 1]) {
      const v = max * share;
      axis.append(
        h("svg:line", { class: "grid-line", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
        h("svg:text", { x: pad.left - 4, y: y(v) + 3, "text-anchor": "end" }, format(v)),
      );
    }
    const span = t1 - t0;
    const ticks = span > 0 ? Math.max(2, Math.min(6, Math.floor(width / 90))) : Math.min(1, times.length);
    for (let k = 0; k < ticks; k += 1) {
      const at = ticks > 1 ? t0 + (k / (ticks - 1)) * span : t0;
      const px = pad.left + (span > 0 ? (k / (ticks - 1)) * (width - pad.left - pad.right) : (width - pad.left - pad.right) / 2);
      const anchor = ticks === 1 ? "middle" : k === 0 ? "start" : k === ticks - 1 ? "end" : "middle";
      axis.append(h("svg:text", { x: px, y: height - 5, "text-anchor": anchor }, tick(at, span)));
    }
    svg.append(axis);
    series.forEach((s, n) => {
      let d = "";
      let pen = false;
      const known = (i) => s.points[i] && s.points[i][1] !== null && s.points[i][1] !== undefined;
      const dots = [];
      s.points.forEach(([, v], i) => {
        if (!known(i)) { pen = false; return; }
        d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        if (!known(i - 1) && !known(i + 1)) dots.push(h("svg:circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot swatch-${n % 6}` }));
        pen = true;
      });
      svg.append(h("svg:path", { class: `series swatch-${n % 6}`, d }), ...dots);
    });
    if (cursor >= 0) {
      svg.append(h("svg:line", { class: "cursor", x1: x(cursor), x2: x(cursor), y1: pad.top, y2: height - pad.bottom }));
    }
  }

  function show(i) {
    cursor = Math.max(0, Math.min(times.length - 1, i));
    draw();
    tip.hidden = false;
    tip.replaceChildren(
      h("div", {}, when(times[cursor])),
      ...series.map((s, n) => h("div", {}, h("i", { class: `swatch-${n % 6}` }), `${s.name}: ${format(s.points[cursor][1])}`)),
    );
    const left = x(cursor);
    tip.style.left = `${Math.min(left + 10, width - 170)}px`;
    tip.style.top = "4px";
  }

  function hide() {
    cursor = -1;
    tip.hidden = true;
    draw();
  }

  svg.addEventListener("pointermove", (event) => {
    if (!times.length) return;
    const box = svg.getBoundingClientRect();
    const scale = width / box.width;
    const px = (event.clientX - box.left) * scale;
    let best = 0;
    times.forEach((_, i) => { if (Math.abs(x(i) - px) < Math.abs(x(best) - px)) best = i; });
    show(best);
  });
  svg.addEventListener("pointerleave", hide);
  svg.addEventListener("blur", hide);
  svg.addEventListener("keydown", (event) => {
    if (!times.length) return;
    if (event.key === "ArrowRight") show(cursor < 0 ? times.length - 1 : cursor + 1);
    else if (event.key === "ArrowLeft") show(cursor < 0 ? times.length - 1 : cursor - 1);
    else if (event.key === "Escape") hide();
    else return;
    event.preventDefault();
  });
  new ResizeObserver(() => {
    const next = Math.round(plot.clientWidth);
    if (next && next !== width) { width = next; draw(); }
  }).observe(plot);

  const headline = series.length ? format(last(series[0])) : "";
  return h("figure", { class: "chart card", "aria-labelledby": id, style: null },
    h("figcaption", { class: "chart-title" }, h("h2", { id }, title), h("span", { class: "now", "aria-hidden": "true" }, headline ?? "")),
    plot,
    series.length > 1 ? h("div", { class: "legend", "aria-hidden": "true" },
      series.map((s, n) => h("span", {}, h("i", { class: `swatch-${n % 6}` }), s.name))) : null,
    h("details", { class: "data" },
      h("summary", {}, "Data"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "time"), series.map((s) => h("th", { scope: "col", class: "num" }, s.name)))),
        h("tbody", {}, times.map((t, i) => h("tr", {}, h("td", {}, when(t)),
          series.map((s) => h("td", { class: "num" }, format(s.points[i][1])))))),
      )),
    ),
  );
}
