// The page's client of the public API (../shared/API.md): GET /api/health and POST /api/process.
// Uploads go through XMLHttpRequest because fetch cannot report upload progress.

/** Why a request did not give a result; `retryAfter` (seconds) only for a 503 that advises it. */
export class ApiError extends Error {
  constructor(kind, message, { status = 0, retryAfter = null } = {}) {
    super(message);
    this.kind = kind; // 'http', 'network', 'aborted' or 'invalid'
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * The service's base URL: `?api=` when given (the page can be served from anywhere and pointed at
 * a service elsewhere), else the page's own origin. Returns `{ base, problem }`.
 */
export function resolveApiBase(location) {
  const asked = new URLSearchParams(location.search).get('api');
  const fallback = /^https?:$/.test(location.protocol) ? location.origin : 'http://localhost:8080';
  if (!asked) return { base: fallback, problem: null };
  try {
    const url = new URL(asked, location.href);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return { base: (url.origin + url.pathname).replace(/\/+$/, ''), problem: null };
  } catch {
    return { base: fallback, problem: `The address given with ?api= (${asked}) is not an http:// or https:// URL; using ${fallback}.` };
  }
}

/** `GET /api/health` as JSON; throws ApiError. */
export async function fetchHealth(base) {
  let response;
  try {
    response = await fetch(`${base}/api/health`, { cache: 'no-store' });
  } catch {
    throw new ApiError('network', `The service at ${base} cannot be reached.`);
  }
  if (!response.ok) throw new ApiError('http', `The service at ${base} answered ${response.status}.`, { status: response.status });
  return response.json();
}

/** Seconds from a Retry-After header (delta seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

/**
 * `POST /api/process` with one photo as multipart/form-data.
 * `handlers.onProgress(loaded, total)` follows the upload; `handlers.onUploaded()` fires when the
 * server has the whole body. Returns `{ done, abort }`: `done` resolves with the first result of
 * the response, or rejects with an ApiError.
 */
export function processPhoto(base, file, name, parameters, handlers = {}) {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  form.append('image', file, name);
  for (const [key, value] of Object.entries(parameters)) form.append(key, String(value));

  const done = new Promise((resolve, reject) => {
    xhr.upload.addEventListener('progress', (event) => {
      if (handlers.onProgress) handlers.onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    xhr.upload.addEventListener('load', () => handlers.onUploaded && handlers.onUploaded());
    xhr.addEventListener('abort', () => reject(new ApiError('aborted', 'Cancelled.')));
    xhr.addEventListener('error', () => reject(new ApiError('network',
      `The connection to ${base} failed before an answer came. Check that the service is running.`)));
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: handled below */ }
      if (xhr.status === 200 && body && body.status === 'success' && Array.isArray(body.results) && body.results.length > 0) {
        resolve(body.results[0]);
        return;
      }
      const message = body && typeof body.message === 'string'
        ? body.message
        : `The service answered ${xhr.status} ${xhr.statusText || ''} without the expected JSON.`.replace(/\s+/g, ' ');
      reject(new ApiError('http', message, {
        status: xhr.status,
        retryAfter: xhr.status === 503 ? parseRetryAfter(xhr.getResponseHeader('Retry-After')) : null,
      }));
    });
  });
  xhr.open('POST', `${base}/api/process`);
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}

/** The result PNG as a Blob (kept by the page, so display and download survive the server's clean-up). */
export async function fetchResult(url) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-store' });
  } catch {
    throw new ApiError('network', `The result ${url} could not be fetched.`);
  }
  if (!response.ok) throw new ApiError('http', `The result could not be fetched: the service answered ${response.status}.`, { status: response.status });
  return response.blob();
}
