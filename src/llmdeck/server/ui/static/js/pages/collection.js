// One collection: size, embedding model, index settings, retrieval quality over time, drift,
// migrations in progress, events, and a search box (POST /api/collections/{name}/search).

import { api, features } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { app, field, guarded, h, mount, pageData, select, setTitle, status, table, toast } from "../lib/dom.js";
import { ago, bytes, int, pct, usd, when } from "../lib/format.js";

const name = pageData().name;
const base = `/api/collections/${encodeURIComponent(name)}`;
const results = h("div");

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")]));
}

function overview(s) {
  const index = s.index_settings ?? {};
  return h("div", { class: "grid three" },
    h("section", { class: "card" }, h("h2", {}, "Size"), kv([
      ["items", int(s.rows)], ["deleted", int(s.deleted)], ["on disk", bytes(s.bytes)], ["version", `v${s.version}`],
    ])),
    h("section", { class: "card" }, h("h2", {}, "Embedding"), kv([
      ["model", s.model], ["dimensions", int(s.dim)], ["metric", s.metric], ["normalised", s.normalize ? "yes" : "no"], ["backend", s.backend],
    ])),
    h("section", { class: "card" }, h("h2", {}, "Index"), kv([
      ["type", index.type], ["settings", Object.entries(index).filter(([k]) => k !== "type").map(([k, v]) => `${k}=${v}`).join(", ")],
      ["built", s.index ? `${s.index.type}${s.index.built ? `, ${int(s.index.size)} vectors` : " (exact search below " + int(s.index.exact_below) + " items)"}` : "–"],
      ["tuned", s.tuned_at ? ago(s.tuned_at) : "never"],
    ])),
  );
}

function quality(q) {
  const points = [...q.points].reverse();
  if (!points.length) {
    return h("section", { class: "card" }, h("h2", {}, "Retrieval quality"),
      h("p", { class: "empty" }, "Not measured yet: set golden queries (PUT /api/collections/NAME/golden) to track recall over time."));
  }
  return lineChart({
    title: `Retrieval quality (recall@${points[points.length - 1].k}, MRR)`,
    format: (v) => pct(v, 0),
    series: [
      { name: "recall", points: points.map((p) => [p.at, p.recall]) },
      { name: "MRR", points: points.map((p) => [p.at, p.mrr]) },
    ],
  });
}

function migration(m) {
  if (!m) return h("section", { class: "card" }, h("h2", {}, "Migration"), h("p", { class: "muted" }, "No migration has run."));
  const share = m.total ? m.done / m.total : 0;
  return h("section", { class: "card stack" }, h("div", { class: "row" }, h("h2", {}, "Migration"), status(m.state)),
    kv([["to model", m.model], ["versions", `v${m.source_version} → v${m.target_version}`], ["progress", `${int(m.done)} of ${int(m.total)} (${pct(share, 0)})`],
      ["cost", usd(m.cost)], ["started", when(m.started_at)], ["updated", ago(m.updated_at)], ["error", m.error]]),
    h("progress", { max: String(m.total || 1), value: String(m.done), "aria-label": "migration progress" }));
}

function search() {
  const rag = features().includes("rag");
  const query = h("input", { type: "search", name: "query", size: 36, required: true, placeholder: "what to look for" });
  const k = h("input", { type: "number", name: "k", value: "5", min: "1", max: "100", size: 3 });
  const mode = select([["vector", "vector"], ["hybrid", "hybrid"], ["keyword", "keyword"]], "vector", { name: "mode" });
  return h("section", { class: "card stack", "aria-labelledby": "search" },
    h("h2", { id: "search" }, rag ? "Search and ask" : "Search"),
    h("form", { class: "toolbar", role: "search", onsubmit: async (e) => {
      e.preventDefault();
      const asking = e.submitter?.value === "ask";
      try {
        if (asking) {
          const answer = await api("/api/rag/query", { method: "POST", body: { collection: name, query: query.value, k: Number(k.value) } });
          mount(results, h("div", { class: "message assistant" }, h("div", { class: "role" }, "answer"), h("pre", {}, answer.answer ?? "")), hits(answer.chunks ?? []));
        } else {
          const found = await api(`${base}/search`, { method: "POST", body: { query: query.value, k: Number(k.value), mode: mode.value } });
          mount(results, hits(found.hits));
        }
      } catch (error) {
        toast(error.message, true);
      }
    } },
    field("Query", query), field("k", k), field("Mode", mode),
    h("button", { type: "submit", class: "primary", value: "search" }, "Search"),
    rag ? h("button", { type: "submit", value: "ask" }, "Ask (RAG)") : null),
    results);
}

function hits(list) {
  return table([
    { label: "score", num: true, value: (hit) => Number(hit.score).toFixed(3) },
    { label: "id", value: (hit) => hit.id },
    { label: "text", value: (hit) => h("span", {}, hit.text ?? "") },
  ], list, { empty: "Nothing found." });
}

guarded(async () => {
  const [stats, q, m] = await Promise.all([api(base), api(`${base}/quality`), api(`${base}/migration`)]);
  setTitle(`Collection: ${name}`);
  mount(app(),
    overview(stats),
    h("div", { class: "grid two" }, quality(q), migration(m.migration)),
    search(),
    h("section", { class: "card" }, h("h2", {}, "Events"), table([
      { label: "when", value: (e) => h("span", { title: when(e.at) }, ago(e.at)) },
      { label: "kind", value: (e) => e.kind },
      { label: "message", value: (e) => e.message ?? "" },
    ], q.events, { empty: "No events." })),
  );
});
