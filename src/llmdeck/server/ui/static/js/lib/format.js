// Numbers, money, durations and times, as people read them.

const nf = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const num = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 100000 ? compact.format(v) : nf.format(Math.round(v * 100) / 100));
export const int = (v) => (v === null || v === undefined ? "–" : nf.format(Math.round(v)));
export const pct = (v, digits = 1) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)}%`);

export function usd(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "$0";
  if (Math.abs(v) < 0.01) return `$${v.toPrecision(2)}`;
  return `$${v.toFixed(2)}`;
}

export function ms(v) {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60000) return `${(v / 1000).toFixed(v < 10000 ? 2 : 1)} s`;
  return `${(v / 60000).toFixed(1)} min`;
}

export function bytes(v) {
  if (v === null || v === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** Local date and time of epoch seconds (or an ISO string). */
export function when(t) {
  if (t === null || t === undefined) return "–";
  const d = typeof t === "string" ? new Date(t) : new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 min ago" for epoch seconds. */
export function ago(t) {
  if (t === null || t === undefined) return "–";
  const s = Date.now() / 1000 - t;
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** An axis label for epoch seconds, coarser for longer ranges. */
export function tick(t, span) {
  const d = new Date(t * 1000);
  if (span > 2 * 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (span < 300) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
