// REST client for /api/v1/: session cookie + CSRF header, JSON errors turned into ApiError
// (its message in the page's language when static/js/messages.js knows the code).
// Every page talks to the server through this module so error handling is the same everywhere.

import { localizeMessage } from "./messages.js";

export class ApiError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// DRF answers {"code","message"} (our handler) or {"field": ["msg"]} (plain validation).
function errorFromBody(status, body) {
  if (body && typeof body === "object") {
    const fields = {};
    for (const [key, value] of Object.entries(body.fields || body.errors || body)) {
      if (["code", "message", "detail", "fields", "errors"].includes(key)) continue;
      fields[key] = Array.isArray(value) ? value.join(" ") : String(value);
    }
    const message = body.message || body.detail || Object.values(fields)[0] || `HTTP ${status}`;
    return new ApiError(
      status,
      body.code || `http:${status}`,
      localizeMessage(body.code, String(message)),
      fields,
    );
  }
  return new ApiError(status, `http:${status}`, `HTTP ${status}`);
}

export async function request(method, url, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(
      0,
      "network:unreachable",
      gettext("The server cannot be reached. Check your connection and retry."),
    );
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw errorFromBody(response.status, data);
  return data;
}

export const api = {
  get: (url, opts) => request("GET", url, undefined, opts),
  post: (url, body, opts) => request("POST", url, body ?? {}, opts),
  patch: (url, body, opts) => request("PATCH", url, body, opts),
  put: (url, body, opts) => request("PUT", url, body, opts),
  delete: (url, opts) => request("DELETE", url, undefined, opts),
};

// Lists come paginated ({count, results}) or plain; callers get {count, results} either way.
export async function list(url, params = {}) {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== "" && v != null),
  );
  const data = await api.get(query.toString() ? `${url}?${query}` : url);
  if (Array.isArray(data)) return { count: data.length, results: data };
  return { count: data.count ?? data.results.length, results: data.results || [] };
}

// Upload with progress (fetch has no upload progress events): XMLHttpRequest, abortable.
export function upload(url, formData, { onProgress, method = "POST", headers = {} } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(errorFromBody(xhr.status, data));
    };
    xhr.onerror = () =>
      reject(
        new ApiError(
          0,
          "network:unreachable",
          gettext("The upload was interrupted by a network error."),
        ),
      );
    xhr.onabort = () =>
      reject(new ApiError(0, "upload:aborted", gettext("The upload was cancelled.")));
    xhr.send(formData);
  });
  return { promise: done, abort: () => xhr.abort() };
}

// Resumable chunked upload (POST uploads/ → PATCH chunks at Upload-Offset → complete/).
// A failed or refused chunk asks the server for its offset and continues from there, so a
// dropped connection near the end costs one chunk, not the whole file.
export const CHUNK_BYTES = 8 * 1024 * 1024;

export function chunkedUpload(uploadsUrl, file, { kind, onProgress, retries = 5 } = {}) {
  let current = null;
  let aborted = false;
  const run = async () => {
    const session = await api.post(uploadsUrl, { file_name: file.name, size: file.size });
    const sessionUrl = `${uploadsUrl}${session.id}/`;
    let offset = session.offset || 0;
    let failures = 0;
    while (offset < file.size) {
      if (aborted) throw new ApiError(0, "upload:aborted", gettext("The upload was cancelled."));
      const chunk = file.slice(offset, Math.min(offset + CHUNK_BYTES, file.size));
      current = upload(sessionUrl, chunk, {
        method: "PATCH",
        headers: {
          "Upload-Offset": String(offset),
          "Content-Type": "application/offset+octet-stream",
        },
        onProgress: (loaded) => onProgress?.(offset + loaded, file.size),
      });
      try {
        offset = (await current.promise).offset;
        failures = 0;
      } catch (err) {
        if (
          aborted ||
          (err.status >= 400 && err.status < 500 && err.status !== 409) ||
          ++failures > retries
        )
          throw err;
        offset = (await api.get(sessionUrl)).offset; // resume where the server really is
      }
    }
    return api.post(`${sessionUrl}complete/`, kind ? { kind } : {});
  };
  const promise = run();
  return {
    promise,
    abort: () => {
      aborted = true;
      current?.abort();
    },
  };
}
