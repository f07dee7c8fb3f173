// The JSON API with the session cookie: GETs as they are, unsafe methods with the CSRF token.

const token = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? (typeof body === "string" && body) ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** A query string from an object; empty values are left out, arrays repeat the name. */
export function query(params) {
  const out = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") out.append(name, String(one));
    }
  }
  const text = out.toString();
  return text ? `?${text}` : "";
}

/** fetch() for the JSON API: the response body, or an ApiError; sends to sign-in on 401. */
export async function api(path, { method = "GET", body, params, signal, raw = false } = {}) {
  const headers = { accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = token();
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path + query(params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  if (raw) return response;
  if (response.status === 401) {
    const here = location.pathname + location.search;
    location.assign(`/ui/login?next=${encodeURIComponent(here)}`);
    throw new ApiError(401, "signed out");
  }
  const json = (response.headers.get("content-type") ?? "").includes("json");
  const data = json ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** POST to a chat endpoint and read the reply as it streams (OpenAI SSE chunks). */
export async function* streamChat(body, { signal } = {}) {
  const response = await api("/ui/api/chat/completions", {
    method: "POST",
    body: { ...body, stream: true, stream_options: { include_usage: true } },
    signal,
    raw: true,
  });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data);
  }
  yield { headers: response.headers };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(502, chunk);
        yield { chunk };
      }
    }
  }
}

export const role = () => document.body.dataset.role;
export const canChange = () => role() === "admin";
export const features = () => (document.body.dataset.features ?? "").split(" ").filter(Boolean);
