// The session: signing in and out, and keeping the token cookie fresh while the page is
// open. The cookie is HttpOnly, so this code never sees the token it refreshes; it only
// learns when the token expires, from the refresh answer.
import { api, apiPrefix, authPrefix, request } from './api.js';

let refreshTimer = 0;
let expiresAt = 0; // ms since the epoch; 0 when signed out
let inFlight = null; // the refresh under way, if any
let onEnded = () => {};

// onSessionEnded sets what happens when the session cannot be kept (expired, revoked).
export function onSessionEnded(fn) {
	onEnded = fn;
}

// login signs in and sets the cookie. The answer also holds the token, as Palette's
// does; it is read only for its expiry and not kept.
export async function login(email, password, org) {
	const body = { emailId: email, password };
	if (org) {
		body.org = org;
	}
	const ans = await request('POST', `${authPrefix}authenticate?setCookie=true`, body, { session: false });
	schedule(tokenExpiry(ans?.Authorization));
}

// resume checks for a session left by an earlier page and renews it; it throws a 401
// ApiError when there is none.
export async function resume() {
	await refresh();
}

// logout ends the session on the gateway (an empty revoke list is a logout, and clears
// the cookie), then forgets it here.
export async function logout() {
	stop();
	await request('POST', `${apiPrefix}users/auth/tokens/revoke`, {}, { session: false });
}

export function stop() {
	clearTimeout(refreshTimer);
	expiresAt = 0;
}

// refresh renews the cookie, one refresh at a time: in this tab (a timer and a tab coming
// back can both ask) and across tabs, which share the cookie. The gateway ends a session
// whose token is refreshed twice, so two refreshes must never send the same cookie.
function refresh() {
	inFlight ??= oneAtATime(renew).finally(() => {
		inFlight = null;
	});
	return inFlight;
}

async function renew() {
	const ans = await request('POST', `${authPrefix}refresh`, undefined, { session: false });
	schedule(Date.parse(ans.expiresAt));
}

// oneAtATime runs fn under a lock every tab of this origin shares, where the browser has
// one (Web Locks need a secure context: https, or localhost).
function oneAtATime(fn) {
	return navigator.locks ? navigator.locks.request('keygate-refresh', fn) : fn();
}

// schedule sets the next refresh well before expiry: after two thirds of the time left
// and at least a minute early (15-minute tokens are renewed every 10 minutes); a token
// with less than 90 s left is renewed half-way, so a short token_ttl works too.
function schedule(exp) {
	clearTimeout(refreshTimer);
	expiresAt = Number.isFinite(exp) ? exp : Date.now() + 60000;
	const left = Math.max(expiresAt - Date.now(), 0);
	const wait = left > 90000 ? Math.min((left * 2) / 3, left - 60000) : left / 2;
	refreshTimer = setTimeout(refreshOrEnd, wait);
}

async function refreshOrEnd() {
	try {
		await refresh();
	} catch (err) {
		if (err.status === 401 || Date.now() >= expiresAt) {
			stop();
			onEnded(err);
			return;
		}
		// The gateway is unreachable for now: try again shortly while the token lasts.
		clearTimeout(refreshTimer);
		refreshTimer = setTimeout(refreshOrEnd, Math.min(10000, Math.max(expiresAt - Date.now() - 1000, 0)));
	}
}

// A hidden tab's timers are slowed down; on coming back, refresh at once if the token
// is close to expiring.
document.addEventListener('visibilitychange', () => {
	if (document.visibilityState === 'visible' && expiresAt && expiresAt - Date.now() < 90000) {
		refreshOrEnd();
	}
});

// tokenExpiry reads the standard exp claim (seconds) of a JWT, in ms; NaN if unreadable.
function tokenExpiry(token) {
	try {
		const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
		return JSON.parse(atob(payload)).exp * 1000;
	} catch {
		return NaN;
	}
}

// me describes the signed-in user: uid, email, names and role.
export async function me() {
	return api.get('users/me');
}
