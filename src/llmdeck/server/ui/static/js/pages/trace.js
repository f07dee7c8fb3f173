// One trace: its spans as a waterfall, the selected span's inputs, outputs, tokens, cost, prompt
// version, guard flags and scores; scores can be added by hand.

import { api } from "../lib/api.js";
import { app, field, guarded, h, mount, pageData, setTitle, status, table, toast } from "../lib/dom.js";
import { ago, int, ms, usd, when } from "../lib/format.js";

const traceId = pageData().traceId;
let trace = null;
let selected = null;

function flatten(spans, depth = 0, out = []) {
  for (const span of spans) {
    out.push({ ...span, depth });
    flatten(span.children ?? [], depth + 1, out);
  }
  return out;
}

function waterfall(spans) {
  const start = Math.min(...spans.map((s) => s.start_time));
  const end = Math.max(...spans.map((s) => s.end_time ?? s.start_time));
  const total = Math.max(end - start, 1e-6);
  return h("div", { class: "waterfall", role: "list", "aria-label": "Spans over time" },
    spans.map((span) => {
      const left = ((span.start_time - start) / total) * 100;
      const width = (((span.end_time ?? span.start_time) - span.start_time) / total) * 100;
      const name = h("span", { class: "wf-name" }, span.name ?? span.kind);
      name.style.paddingLeft = `${span.depth * 14}px`;
      const row = h("button", {
        type: "button", class: "wf-row", role: "listitem", "aria-pressed": String(span.id === selected?.id),
        "aria-label": `${span.name}, ${span.kind}, ${ms(span.latency_ms)}, starts at +${ms((span.start_time - start) * 1000)}`,
        onclick: () => { selected = span; render(); },
      },
      name,
      h("span", { class: "wf-track" },
        h("span", { class: `wf-bar ${span.kind} ${span.status === "error" ? "error" : ""}`, "left%": left, "width%": Math.max(width, 0.4) })),
      h("span", { class: "wf-time" }, ms(span.latency_ms ?? ((span.end_time ?? span.start_time) - span.start_time) * 1000)),
      );
      return row;
    }),
  );
}

function content(value) {
  if (value === null || value === undefined) return h("p", { class: "muted" }, "none");
  const messages = Array.isArray(value) ? value : value?.role ? [value] : null;
  if (messages && messages.every((m) => m && typeof m === "object" && "role" in m)) {
    return messages.map((m) => h("div", { class: `message ${m.role}` },
      h("div", { class: "role" }, m.role),
      h("pre", {}, typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? m.tool_calls, null, 2))));
  }
  return h("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function guardFlags(span) {
  const notes = span.attributes?.guards ?? [];
  if (!notes.length) return null;
  return h("section", {}, h("h3", {}, "Guards"),
    table([
      { label: "detector", value: (g) => g.detector ?? g.name ?? "" },
      { label: "stage", value: (g) => g.stage ?? g.direction ?? "" },
      { label: "score", num: true, value: (g) => (g.score === undefined ? "" : Number(g.score).toFixed(2)) },
      { label: "action", value: (g) => (g.action ? status(g.flagged ? "warning" : "ok") : "") },
      { label: "", value: (g) => g.action ?? (g.flagged ? "flagged" : "") },
    ], notes));
}

function spanDetail(span) {
  const scores = trace.scores.filter((s) => s.span_id === span.id);
  const prompt = span.prompt_name
    ? h("a", { href: `/ui/prompts/${encodeURIComponent(span.prompt_name)}` }, `${span.prompt_name} v${span.prompt_version}`)
    : null;
  const { guards, ...rest } = span.attributes ?? {};
  return h("section", { class: "card stack", "aria-label": "Selected span" },
    h("div", { class: "row" }, h("h2", {}, span.name ?? span.kind), status(span.status), h("span", { class: "chip" }, span.kind)),
    span.error ? h("p", { class: "error" }, span.error) : null,
    kv([
      ["model", span.model_alias ? `${span.model_alias} → ${span.model ?? "?"}` : span.model],
      ["deployment", span.deployment ? `${span.deployment} (${span.provider})` : null],
      ["latency", ms(span.latency_ms)],
      ["time to first token", span.ttft_ms === null ? null : ms(span.ttft_ms)],
      ["tokens", span.input_tokens === null ? null : `${int(span.input_tokens)} in · ${int(span.output_tokens)} out${span.cached_tokens ? ` · ${int(span.cached_tokens)} cached` : ""}`],
      ["cost", span.cost === null ? null : usd(span.cost)],
      ["cache", span.cache],
      ["prompt", prompt],
      ["key", span.key_id],
      ["user", span.user_id],
      ["started", when(span.start_time)],
      ["parameters", span.parameters ? JSON.stringify(span.parameters) : null],
    ]),
    guardFlags(span),
    h("div", { class: "grid two" },
      h("section", {}, h("h3", {}, "Input"), content(span.input)),
      h("section", {}, h("h3", {}, "Output"), content(span.output)),
    ),
    scores.length ? h("section", {}, h("h3", {}, "Scores"), scoreTable(scores)) : null,
    Object.keys(rest).length ? h("details", {}, h("summary", {}, "Attributes"), h("pre", {}, JSON.stringify(rest, null, 2))) : null,
  );
}

function scoreTable(scores) {
  return table([
    { label: "name", value: (s) => s.name },
    { label: "value", value: (s) => s.string_value ?? String(s.value) },
    { label: "source", value: (s) => s.source },
    { label: "comment", value: (s) => s.comment ?? "" },
    { label: "when", value: (s) => when(s.created_at) },
  ], scores);
}

function scoreForm() {
  return h("form", { class: "toolbar", "aria-label": "Add a score", onsubmit: async (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const raw = String(data.get("value")).trim();
    const value = raw === "true" || raw === "false" ? raw === "true" : Number.isNaN(Number(raw)) || raw === "" ? raw : Number(raw);
    const body = { name: String(data.get("name")).trim(), value, comment: String(data.get("comment")).trim() || null, source: "user" };
    const onSpan = data.get("on_span") && selected;
    const path = onSpan ? `/api/traces/${traceId}/spans/${selected.id}/scores` : `/api/traces/${traceId}/scores`;
    try {
      await api(path, { method: "POST", body });
      toast(`Score ${body.name} added`);
      await load();
    } catch (error) {
      toast(error.message, true);
    }
  } },
  field("Name", h("input", { name: "name", required: true, size: 10, placeholder: "helpful" })),
  field("Value", h("input", { name: "value", required: true, size: 8, placeholder: "0.8, true, good" })),
  field("Comment", h("input", { name: "comment", size: 22 })),
  h("label", { class: "row small" }, h("input", { type: "checkbox", name: "on_span" }), "on the selected span"),
  h("button", { type: "submit", class: "primary" }, "Add score"));
}

function render() {
  const spans = flatten(trace.spans);
  selected = selected ?? spans[0] ?? null;
  const t = trace;
  mount(app(),
    h("section", { class: "tiles", "aria-label": "Trace" },
      [["Status", status(t.status ?? "ok")], ["Latency", ms(t.latency_ms)], ["Spans", int(spans.length)],
        ["Tokens", int((t.input_tokens ?? 0) + (t.output_tokens ?? 0))], ["Cost", usd(t.cost)], ["Started", h("span", { title: when(t.start_time) }, ago(t.start_time))]]
        .map(([label, value]) => h("div", { class: "tile" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value)))),
    h("p", { class: "muted small" },
      `trace ${t.id}`, t.user_id ? ` · user ${t.user_id}` : "", t.session_id ? ` · session ${t.session_id}` : "",
      (t.tags ?? []).length ? " · " : "", (t.tags ?? []).map((tag) => h("span", { class: "chip" }, tag))),
    h("section", { class: "card" }, h("h2", {}, "Waterfall"), spans.length ? waterfall(spans) : h("p", { class: "empty" }, "No spans stored.")),
    selected ? spanDetail(selected) : null,
    h("section", { class: "card stack", "aria-label": "Scores" },
      h("h2", {}, "Scores"),
      scoreTable(t.scores),
      scoreForm()),
    t.events?.length ? h("section", { class: "card" }, h("h2", {}, "Events"), table([
      { label: "time", value: (e) => when(e.time) },
      { label: "name", value: (e) => e.name },
      { label: "level", value: (e) => status(e.level) },
      { label: "message", value: (e) => e.message ?? "" },
    ], t.events)) : null,
  );
}

async function load() {
  trace = await api(`/api/traces/${traceId}`);
  if (selected) selected = flatten(trace.spans).find((s) => s.id === selected.id) ?? null;
  setTitle(`Trace: ${trace.name ?? trace.id}`);
  render();
}

guarded(load);
