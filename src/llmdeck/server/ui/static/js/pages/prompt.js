// One prompt: labels (move, roll back: with confirmation, admin only), versions, a side-by-side
// diff of any two, and the label history.

import { api, canChange } from "../lib/api.js";
import { app, confirmAction, field, guarded, h, mount, pageData, select, setTitle, table, toast } from "../lib/dom.js";
import { ago, when } from "../lib/format.js";

const name = pageData().name;
const base = `/api/prompts/${encodeURIComponent(name)}`;
const query = new URLSearchParams(location.search);
let prompt, versions, history;
let pair = null;
let shown = null;

const targetsText = (targets) => (targets ?? []).map((t) => `v${t.version}${targets.length > 1 ? ` ${Math.round(t.weight * 100)}%` : ""}`).join(" + ") || "–";

async function move(label, version) {
  const from = targetsText(label.targets);
  const ok = await confirmAction(
    `Move ${label.label}?`,
    `${name}: ${label.label} goes from ${from} to v${version}. Traffic that asks for ${label.label} gets v${version} at once.`,
    `Move to v${version}`,
  );
  if (!ok) return;
  try {
    await api(`${base}/labels/${encodeURIComponent(label.label)}`, { method: "PUT", body: { version: Number(version), reason: "moved in the web UI" } });
    toast(`${label.label} → v${version}`);
    await load();
  } catch (error) {
    toast(error.message, true);
  }
}

async function rollback(label) {
  const last = [...history].reverse().find((e) => e.label === label.label);
  const was = last ? ` (its last move: ${targetsText(last.from_targets)} → ${targetsText(last.to_targets)})` : "";
  const ok = await confirmAction(
    `Roll back ${label.label}?`,
    `${name}: ${label.label} goes back to where it pointed before its last move${was}.`,
    "Roll back",
  );
  if (!ok) return;
  try {
    const state = await api(`${base}/labels/${encodeURIComponent(label.label)}/rollback`, { method: "POST" });
    toast(`${label.label} rolled back to ${targetsText(state.targets)}`);
    await load();
  } catch (error) {
    toast(error.message, true);
  }
}

function labels() {
  const allowed = canChange();
  const options = versions.map((v) => [v.version, `v${v.version}`]);
  const rows = prompt.labels.filter((l) => l.label !== "latest");
  return h("section", { class: "card stack", "aria-labelledby": "labels" },
    h("h2", { id: "labels" }, "Labels"),
    allowed ? null : h("p", { class: "muted small" }, "Moving and rolling back labels needs the admin key."),
    table([
      { label: "label", value: (l) => h("strong", {}, l.label) },
      { label: "points to", value: (l) => targetsText(l.targets) + (l.canary ? " (canary)" : "") },
      { label: "changed", value: (l) => h("span", { title: when(l.updated_at) }, `${ago(l.updated_at)} by ${l.updated_by ?? "?"}`), cls: "hide-narrow" },
      { label: "actions", value: (l) => {
        const choice = select(options, l.version, { "aria-label": `version for ${l.label}`, disabled: !allowed });
        return h("div", { class: "row" },
          choice,
          h("button", { type: "button", disabled: !allowed, onclick: () => move(l, choice.value) }, "Move"),
          h("button", { type: "button", class: "danger", disabled: !allowed, onclick: () => rollback(l) }, "Roll back"));
      } },
    ], rows, { empty: "No labels besides latest." }),
  );
}

function versionList() {
  return h("section", { class: "card stack", "aria-labelledby": "versions" },
    h("h2", { id: "versions" }, "Versions"),
    table([
      { label: "version", value: (v) => h("button", { type: "button", class: "link", onclick: () => { shown = v; render(); } }, `v${v.version}`) },
      { label: "message", value: (v) => v.commit_message || h("span", { class: "muted" }, "–") },
      { label: "model", value: (v) => v.model ?? "", cls: "hide-narrow" },
      { label: "author", value: (v) => v.author ?? "", cls: "hide-narrow" },
      { label: "created", value: (v) => h("span", { title: when(v.created_at) }, ago(v.created_at)) },
      { label: "", value: (v) => h("a", { href: `/ui/playground?prompt=${encodeURIComponent(name)}&version=${v.version}` }, "Try") },
    ], versions, { rowAttrs: (v) => ({ class: shown?.version === v.version ? "selected" : null }) }),
  );
}

function versionDetail(v) {
  return h("section", { class: "card stack", "aria-labelledby": "shown" },
    h("h2", { id: "shown" }, `v${v.version}`),
    v.messages.map((m) => h("div", { class: `message ${m.role}` }, h("div", { class: "role" }, m.role), h("pre", {}, m.content ?? ""))),
    h("dl", { class: "kv" },
      h("dt", {}, "model"), h("dd", {}, v.model ?? "–"),
      h("dt", {}, "params"), h("dd", { class: "mono" }, JSON.stringify(v.params ?? {})),
      h("dt", {}, "variables"), h("dd", {}, Object.keys(v.variables ?? {}).join(", ") || "–"),
      h("dt", {}, "hash"), h("dd", { class: "mono small" }, v.content_hash)),
  );
}

/** Unified diff lines to side-by-side rows: [left, right, kind]. */
function sideBySide(unified) {
  const rows = [];
  let dels = [];
  let adds = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i += 1) rows.push([dels[i] ?? null, adds[i] ?? null, "change"]);
    dels = [];
    adds = [];
  };
  for (const line of unified.split("\n")) {
    if (line.startsWith("---") || line.startsWith("+++")) continue;
    if (line.startsWith("@@")) { flush(); if (rows.length) rows.push(["⋯", "⋯", "gap"]); continue; }
    if (line.startsWith("-")) dels.push(line.slice(1));
    else if (line.startsWith("+")) adds.push(line.slice(1));
    else { flush(); if (line.length) rows.push([line.slice(1), line.slice(1), "same"]); }
  }
  flush();
  return rows;
}

function diffView(result) {
  const cells = [h("div", { class: "head" }, `v${result.a}`), h("div", { class: "head" }, `v${result.b}`)];
  const byVersion = (n) => versions.find((v) => v.version === n);
  for (const message of result.messages) {
    cells.push(h("div", { class: "line gap" }, `[${message.role_a ?? "—"}]`), h("div", { class: "line gap" }, `[${message.role_b ?? "—"}]`));
    if (!message.diff) {
      const text = byVersion(result.a)?.messages[message.index]?.content ?? "";
      for (const line of text.split("\n")) cells.push(h("div", { class: "line" }, line), h("div", { class: "line" }, line));
      continue;
    }
    for (const [left, right, kind] of sideBySide(message.diff).filter(([l]) => !/^\[\w+\]$/.test(l ?? ""))) {
      const cls = (side) => (kind === "gap" ? "line gap" : kind === "change" ? `line ${side}` : "line");
      cells.push(h("div", { class: left === null ? "line" : cls("del") }, left ?? ""), h("div", { class: right === null ? "line" : cls("add") }, right ?? ""));
    }
  }
  const changes = [];
  if (result.model) changes.push(`model: ${result.model.a ?? "–"} → ${result.model.b ?? "–"}`);
  for (const [key, change] of Object.entries(result.params)) changes.push(`params.${key}: ${JSON.stringify(change.a)} → ${JSON.stringify(change.b)}`);
  for (const [key, change] of Object.entries(result.variables)) changes.push(`variables.${key}: ${JSON.stringify(change.a)} → ${JSON.stringify(change.b)}`);
  return [h("div", { class: "diff", role: "table", "aria-label": `v${result.a} and v${result.b} side by side` }, cells),
    changes.length ? h("ul", { class: "small" }, changes.map((c) => h("li", {}, c))) : null];
}

function diffPanel(result) {
  const options = versions.map((v) => [v.version, `v${v.version}`]);
  const a = select(options, pair?.[0], { name: "a", "aria-label": "from version" });
  const b = select(options, pair?.[1], { name: "b", "aria-label": "to version" });
  return h("section", { class: "card stack", "aria-labelledby": "diff" },
    h("div", { class: "row" }, h("h2", { id: "diff" }, "Compare"), h("span", { class: "spacer" }),
      field("From", a), field("To", b),
      h("button", { type: "button", onclick: () => { pair = [Number(a.value), Number(b.value)]; guarded(load); } }, "Compare")),
    result ? diffView(result) : h("p", { class: "empty" }, "One version only."),
  );
}

function historyTable() {
  return h("section", { class: "card", "aria-labelledby": "history" },
    h("h2", { id: "history" }, "Label history"),
    table([
      { label: "when", value: (e) => h("span", { title: when(e.at) }, ago(e.at)) },
      { label: "label", value: (e) => e.label },
      { label: "change", value: (e) => `${targetsText(e.from_targets)} → ${targetsText(e.to_targets)}` },
      { label: "action", value: (e) => e.action },
      { label: "by", value: (e) => e.actor ?? "", cls: "hide-narrow" },
      { label: "reason", value: (e) => e.reason ?? "", cls: "hide-narrow" },
    ], [...history].reverse()),
  );
}

let diffResult = null;

function render() {
  mount(app(),
    h("div", { class: "row" }, h("span", { class: "muted" }, `latest v${prompt.latest_version} · ${versions.length} versions`), h("span", { class: "spacer" }),
      h("a", { href: `/ui/playground?prompt=${encodeURIComponent(name)}` }, "Open in playground")),
    labels(),
    h("div", { class: "grid two" }, versionList(), shown ? versionDetail(shown) : null),
    diffPanel(diffResult),
    historyTable(),
  );
}

async function load() {
  [prompt, { versions }, { events: history }] = await Promise.all([
    api(base), api(`${base}/versions`), api(`${base}/history`),
  ]);
  setTitle(`Prompt: ${name}`);
  if (!pair && versions.length > 1) {
    const a = Number(query.get("a")) || versions[1].version;
    const b = Number(query.get("b")) || versions[0].version;
    pair = [a, b];
  }
  shown = versions.find((v) => v.version === shown?.version) ?? versions[0];
  diffResult = pair ? await api(`${base}/diff`, { params: { a: pair[0], b: pair[1] } }) : null;
  render();
}

guarded(load);
