// RAG: ask a collection a question and see the answer, its citations with their scores, the
// chunks retrieved, how long each stage took, and (admins) the ingestion runs and their progress.
// Queries go to POST /api/rag/query (streamed) as the signed-in user, so each one is a trace.

import { api, ApiError, canChange } from "../lib/api.js";
import { app, bar, field, guarded, h, mount, select, status, table, toast } from "../lib/dom.js";
import { ago, int, ms, num, when } from "../lib/format.js";

const query = new URLSearchParams(location.search);
const form = { collection: query.get("collection") ?? "docs", query: query.get("q") ?? "", k: "" };
const STAGES = [
  ["embed", "embed question"],
  ["search", "search"],
  ["rerank", "rerank"],
  ["answer", "answer"],
  ["grounded", "groundedness"],
];
let result = null;
let names = [];
let runs = [];

function timingChart(timings) {
  const rows = STAGES.filter(([key]) => timings[key] !== undefined).map(([key, label]) => ({ key, label, value: timings[key] }));
  const total = rows.reduce((sum, r) => sum + r.value, 0) || 1;
  const summary = rows.map((r) => `${r.label} ${ms(r.value)}`).join(", ");
  return h("figure", { class: "stage-chart", "aria-label": `Time per stage: ${summary}` },
    h("figcaption", { class: "small muted" }, `Time per stage (total ${ms(total)})`),
    table([
      { label: "stage", value: (r) => r.label },
      { label: "share", value: (r) => bar(r.value / total), cls: "hide-narrow" },
      { label: "time", num: true, value: (r) => ms(r.value) },
    ], rows));
}

function answerCard() {
  if (!result) return h("p", { class: "muted" }, "Ask a question to see the answer, its sources and the time each stage took.");
  const degraded = result.degraded?.length
    ? h("p", { role: "status" }, status("degraded"), ` ${result.degraded.join(", ")} unavailable: ${result.mode} search`)
    : null;
  return h("div", { class: "stack" },
    h("section", { class: "card stack", "aria-label": "Answer" },
      h("h2", {}, "Answer"),
      degraded,
      h("div", { class: "output", id: "answer" }, result.answer),
      h("p", { class: "small muted" },
        `groundedness risk ${result.grounded_risk === null ? "–" : num(result.grounded_risk)} · model ${result.model}`,
        result.trace_id ? " · " : "", result.trace_id ? h("a", { href: `/ui/traces/${result.trace_id}` }, "trace") : ""),
    ),
    h("div", { class: "grid two" },
      h("section", { class: "card", "aria-label": "Citations" }, h("h2", {}, "Citations"), table([
        { label: "", value: (c) => `[${c.marker}]` },
        { label: "document", value: (c) => h("span", { title: c.source }, c.title || c.document_id) },
        { label: "chars", value: (c) => `${int(c.start)}–${int(c.end)}`, cls: "hide-narrow" },
        { label: "score", num: true, value: (c) => num(c.score) },
        { label: "cited", value: (c) => (c.cited ? "yes" : "") },
      ], result.citations, { empty: "No citations." })),
      h("section", { class: "card", "aria-label": "Stage timings" }, h("h2", {}, "Stages"), timingChart(result.timings)),
    ),
    h("section", { class: "card", "aria-label": "Retrieved chunks" }, h("h2", {}, "Retrieved chunks"), table([
      { label: "chunk", value: (c) => c.id },
      { label: "score", num: true, value: (c) => num(c.score) },
      { label: "text", value: (c) => h("span", { class: "small" }, c.text.length > 240 ? `${c.text.slice(0, 240)}…` : c.text) },
    ], result.chunks, { empty: "Nothing retrieved." })),
  );
}

function runsCard() {
  if (!canChange()) return null;
  return h("section", { class: "card", "aria-label": "Ingestion runs" }, h("h2", {}, "Ingestion"), table([
    { label: "collection", value: (r) => r.collection },
    { label: "status", value: (r) => status(r.status) },
    { label: "documents", num: true, value: (r) => `${int(r.done)} / ${int(r.documents)}` },
    { label: "unchanged", num: true, value: (r) => int(r.skipped), cls: "hide-narrow" },
    { label: "chunks", num: true, value: (r) => int(r.chunks) },
    { label: "chunks/s", num: true, value: (r) => num(r.chunks_per_s), cls: "hide-narrow" },
    { label: "problems", num: true, value: (r) => h("span", { title: (r.problems ?? []).join("\n") }, int((r.problems ?? []).length)), cls: "hide-narrow" },
    { label: "started", value: (r) => h("span", { title: when(r.created_at) }, ago(r.created_at)) },
  ], runs, { empty: "No ingestion runs yet: `llmdeck rag ingest PATH --collection NAME`, or POST /api/rag/ingest." }));
}

/** POST /api/rag/query with `stream: true`: its server-sent events, one object each. */
async function* events(body) {
  const response = await api("/api/rag/query", { method: "POST", body: { ...body, stream: true }, raw: true });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      yield JSON.parse(line.slice(6));
    }
  }
}

async function ask() {
  if (!form.query.trim()) { toast("Write a question first", true); return; }
  const button = document.getElementById("ask");
  button.disabled = true;
  const body = { collection: form.collection, query: form.query };
  if (form.k !== "") body.k = Number(form.k);
  // the answer appears as the model writes it; the sources and timings when it is done
  const live = h("div", { class: "output streaming", id: "answer", "aria-live": "polite" });
  result = null;
  mount(app(), ...[...app().children].slice(0, 1), h("section", { class: "card stack", "aria-label": "Answer" }, h("h2", {}, "Answer"), live), runsCard());
  try {
    for await (const event of events(body)) {
      if (event.type === "delta") live.append(event.content);
      else if (event.type === "done") result = event;
      else if (event.type === "error") throw new ApiError(502, event);
    }
    history.replaceState(null, "", `?${new URLSearchParams({ collection: form.collection, q: form.query })}`);
  } catch (error) {
    result = null;
    toast(error.message, true);
  } finally {
    button.disabled = false;
  }
  render();
}

function render() {
  const collection = names.length
    ? select(names.map((n) => [n, n]), form.collection, { id: "collection", onchange: (e) => { form.collection = e.target.value; } })
    : h("input", { id: "collection", value: form.collection, size: 14, oninput: (e) => { form.collection = e.target.value; } });
  const setup = h("form", { class: "card stack", "aria-label": "Question", onsubmit: (e) => { e.preventDefault(); ask(); } },
    h("div", { class: "toolbar" },
      field("Collection", collection),
      field("Chunks (k)", h("input", { type: "number", min: "1", max: "100", size: 4, id: "k", value: form.k, oninput: (e) => { form.k = e.target.value; } })),
    ),
    field("Question", h("textarea", { id: "question", rows: 2, value: form.query, oninput: (e) => { form.query = e.target.value; } })),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "ask" }, "Ask")),
  );
  mount(app(), setup, answerCard(), runsCard());
}

// While an ingestion run is queued or running, its progress refreshes every 2 seconds.
async function follow() {
  while (runs.some((r) => r.status === "queued" || r.status === "running")) {
    await new Promise((resolve) => { setTimeout(resolve, 2000); });
    runs = (await api("/api/rag/ingest").catch(() => ({ runs }))).runs;
    const card = document.querySelector("[aria-label='Ingestion runs']");
    if (card) card.replaceWith(runsCard());
  }
}

guarded(async () => {
  if (canChange()) {
    const [listing, recent] = await Promise.all([
      api("/api/collections").catch(() => ({ collections: [] })),
      api("/api/rag/ingest").catch(() => ({ runs: [] })),
    ]);
    names = listing.collections.map((c) => c.name);
    runs = recent.runs;
    if (names.length && !names.includes(form.collection)) form.collection = names[0];
  }
  render();
  follow();
  if (form.query) await ask();
});
