// Playground: run a prompt version (or plain messages) with variables against any model alias,
// streamed; two versions or two models side by side. Calls go through the gateway as the
// signed-in user (POST /ui/api/chat/completions), so each run is a trace like any other call.

import { api, streamChat } from "../lib/api.js";
import { app, field, guarded, h, mount, select, toast } from "../lib/dom.js";
import { int, ms } from "../lib/format.js";

const query = new URLSearchParams(location.search);
const OWN = "";  // the version's own model
let prompts = [];
let aliases = [];
const versionsOf = new Map();
const form = { prompt: query.get("prompt") ?? "", system: "", user: "", temperature: "", max_tokens: "", compare: query.get("compare") === "1" };
const columns = [
  { version: query.get("version") ?? "", model: query.get("model") ?? OWN },
  { version: query.get("version_b") ?? "", model: query.get("model_b") ?? OWN },
];
const variables = {};

async function versions(name) {
  if (!name) return [];
  if (!versionsOf.has(name)) versionsOf.set(name, (await api(`/api/prompts/${encodeURIComponent(name)}/versions`)).versions);
  return versionsOf.get(name);
}

function chosen(col, list) {
  return list.find((v) => String(v.version) === String(col.version)) ?? list[0];
}

async function render() {
  const list = await versions(form.prompt);
  const shown = form.compare ? columns : columns.slice(0, 1);
  const names = new Set();
  for (const col of shown) for (const name of Object.keys(chosen(col, list)?.variables ?? {})) names.add(name);
  const promptSelect = select([["", "(no prompt: write messages)"], ...prompts.map((p) => [p.name, p.name])], form.prompt, {
    id: "prompt", onchange: (e) => { form.prompt = e.target.value; columns.forEach((c) => { c.version = ""; }); guarded(render); },
  });
  const setup = h("section", { class: "card stack", "aria-label": "Setup" },
    h("div", { class: "toolbar" },
      field("Prompt", promptSelect),
      field("Temperature", h("input", { type: "number", step: "0.1", min: "0", max: "2", size: 4, value: form.temperature, oninput: (e) => { form.temperature = e.target.value; } })),
      field("Max tokens", h("input", { type: "number", min: "1", size: 5, value: form.max_tokens, oninput: (e) => { form.max_tokens = e.target.value; } })),
      h("label", { class: "row small" }, h("input", { type: "checkbox", id: "compare", checked: form.compare, onchange: (e) => { form.compare = e.target.checked; guarded(render); } }), "Side by side"),
    ),
    form.prompt
      ? h("div", { class: "grid two" }, [...names].map((name) => field(name, h("textarea", {
        name, rows: 2, value: variables[name] ?? "", oninput: (e) => { variables[name] = e.target.value; },
      }))))
      : h("div", { class: "grid two" },
        field("System", h("textarea", { id: "system", rows: 3, value: form.system, oninput: (e) => { form.system = e.target.value; } })),
        field("User", h("textarea", { id: "user", rows: 3, value: form.user, oninput: (e) => { form.user = e.target.value; } }))),
    h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "run", onclick: () => run(list) }, form.compare ? "Run both" : "Run")),
  );
  mount(app(), setup, h("div", { class: form.compare ? "grid two" : "grid" }, shown.map((col, i) => column(col, i, list))));
}

function column(col, index, list) {
  const version = chosen(col, list);
  const models = [[OWN, form.prompt ? `prompt's own (${version?.model ?? "none"})` : "choose a model"], ...aliases.map((a) => [a, a])];
  if (!form.prompt && col.model === OWN && aliases.length) col.model = aliases[0];
  col.output = h("div", { class: "output", "aria-live": "polite", "aria-label": `output ${index + 1}` });
  col.stats = h("p", { class: "small muted" });
  return h("section", { class: "card stack", "aria-label": `Run ${index + 1}` },
    h("div", { class: "toolbar" },
      form.prompt ? field("Version", select(list.map((v) => [v.version, `v${v.version}${v.commit_message ? ` · ${v.commit_message}` : ""}`]), version?.version, {
        onchange: (e) => { col.version = e.target.value; guarded(render); },
      })) : null,
      field("Model", select(form.prompt ? models : models.slice(1), col.model, { onchange: (e) => { col.model = e.target.value; } })),
    ),
    col.output,
    col.stats,
  );
}

function body(col, list) {
  const out = { tags: ["playground"] };
  if (form.temperature !== "") out.temperature = Number(form.temperature);
  if (form.max_tokens !== "") out.max_tokens = Number(form.max_tokens);
  if (form.prompt) {
    const version = chosen(col, list);
    out.model = col.model || form.prompt;
    out.prompt = { name: form.prompt, version: version.version, variables: { ...variables } };
  } else {
    out.model = col.model;
    out.messages = [
      ...(form.system ? [{ role: "system", content: form.system }] : []),
      { role: "user", content: form.user },
    ];
  }
  return out;
}

async function runOne(col, list) {
  col.output.textContent = "";
  col.output.classList.add("streaming");
  col.stats.textContent = "";
  const started = performance.now();
  let first = null;
  let usage = null;
  let headers = null;
  try {
    for await (const part of streamChat(body(col, list))) {
      if (part.headers) { headers = part.headers; continue; }
      const { chunk } = part;
      if (chunk.usage) usage = chunk.usage;
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) {
        first = first ?? performance.now();
        col.output.append(text);
      }
    }
    const trace = headers?.get("x-llmdeck-trace-id");
    col.stats.replaceChildren(
      `first token ${first ? ms(first - started) : "–"} · total ${ms(performance.now() - started)}`,
      usage ? ` · ${int(usage.prompt_tokens)} in · ${int(usage.completion_tokens)} out` : "",
      headers?.get("x-llmdeck-deployment") ? ` · ${headers.get("x-llmdeck-deployment")}` : "",
      headers?.get("x-llmdeck-cache") ? ` · cache ${headers.get("x-llmdeck-cache")}` : "",
      trace ? " · " : "", trace ? h("a", { href: `/ui/traces/${trace}` }, "trace") : "",
    );
  } catch (error) {
    col.output.append(h("span", { class: "error" }, error.message));
  } finally {
    col.output.classList.remove("streaming");
  }
}

async function run(list) {
  const shown = form.compare ? columns : columns.slice(0, 1);
  if (!form.prompt && !form.user.trim()) { toast("Write a user message first", true); return; }
  await Promise.all(shown.map((col) => runOne(col, list)));
}

guarded(async () => {
  const [listing, ready] = await Promise.all([api("/api/prompts"), api("/health/ready").catch(() => null)]);
  prompts = listing.prompts;
  aliases = Object.keys(ready?.components?.deployments?.models ?? {});
  if (form.prompt && !prompts.some((p) => p.name === form.prompt)) form.prompt = "";
  await render();
});
