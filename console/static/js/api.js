// The console's only way to the gateway: fetch() to its REST endpoints. The session is
// the HttpOnly token cookie, sent by the browser and never seen here; no token or key is
// ever put in a URL. Every request carries X-Requested-With, which the gateway demands of
// state-changing requests authenticated by the cookie and which a cross-site form
// cannot send.

const root = document.documentElement;
export const authPrefix = root.dataset.authPrefix || '/v1/auth/';
export const apiPrefix = root.dataset.apiPrefix || '/v1/';

// ApiError is a refused request, carrying the API's own code and message.
export class ApiError extends Error {
	constructor(status, code, message, retryAfter = 0) {
		super(message);
		this.status = status;
		this.code = code;
		this.retryAfter = retryAfter;
	}
}

let onUnauthorized = () => {};

// setUnauthorizedHandler sets what happens when a request finds the session gone.
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

// request sends one API request and returns the decoded JSON answer (null for 204).
// opts.session = false keeps a 401 from ending the session (login, refresh, start-up).
export async function request(method, path, body, opts = {}) {
	const init = {
		method,
		credentials: 'same-origin',
		cache: 'no-store',
		headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' },
	};
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(path, init);
	} catch {
		throw new ApiError(0, 'NetworkError', 'The gateway cannot be reached. Check the connection and try again.');
	}
	const data = await readJSON(res);
	if (res.ok) {
		return data;
	}
	const err = new ApiError(
		res.status,
		data?.code || `HTTP${res.status}`,
		data?.message || `The gateway answered ${res.status} ${res.statusText}`.trim(),
		Number(res.headers.get('Retry-After')) || 0,
	);
	if (res.status === 401 && opts.session !== false) {
		onUnauthorized(err);
	}
	throw err;
}

async function readJSON(res) {
	if (res.status === 204) {
		return null;
	}
	try {
		return JSON.parse(await res.text());
	} catch {
		return null;
	}
}

// errorText is what to show for a failed request: the API's message, or for throttling
// how long to wait.
export function errorText(err) {
	if (err instanceof ApiError && err.status === 429) {
		const s = err.retryAfter || 60;
		return `Too many attempts, try again in ${s} second${s === 1 ? '' : 's'}.`;
	}
	return err?.message || String(err);
}

// The management API, relative to the API prefix.
export const api = {
	get: (path) => request('GET', apiPrefix + path),
	post: (path, body) => request('POST', apiPrefix + path, body),
	put: (path, body) => request('PUT', apiPrefix + path, body),
	patch: (path, body) => request('PATCH', apiPrefix + path, body),
	del: (path) => request('DELETE', apiPrefix + path),
};

// query builds "?a=b&c=d" from the non-empty values of params.
export function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) {
		if (v !== undefined && v !== null && v !== '') {
			q.set(k, v);
		}
	}
	const s = q.toString();
	return s ? `?${s}` : '';
}

// listAll follows a listing's continue cursor to the end (at most `pages` pages).
export async function listAll(path, params = {}, pages = 20) {
	const items = [];
	let cursor = '';
	for (let i = 0; i < pages; i++) {
		const page = await api.get(path + query({ ...params, limit: 50, continue: cursor }));
		items.push(...page.items);
		cursor = page.listmeta?.continue;
		if (!cursor) {
			break;
		}
	}
	return items;
}
