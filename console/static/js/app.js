// The console's entry point: sign-in, the session, and a hash router over the pages.
// Routes live in the fragment (#/keys), which never reaches the server or its logs.
import { api, authPrefix, errorText, request, setUnauthorizedHandler } from './api.js';
import { auditPage } from './audit.js';
import { alertBox, h, replace } from './dom.js';
import { keysPage } from './keys.js';
import { projectsPage } from './projects.js';
import { scimPage } from './scim.js';
import * as session from './session.js';
import { teamsPage } from './teams.js';
import { usersPage } from './users.js';
import { webhooksPage } from './webhooks.js';

const $ = (id) => document.getElementById(id);

const routes = {
	keys: { title: 'My API Keys', render: (main, ctx) => keysPage(main, { ...ctx, tenant: false }) },
	'tenant/keys': { title: 'API Keys', tenant: true, render: (main, ctx) => keysPage(main, { ...ctx, tenant: true }) },
	'tenant/users': { title: 'Users', tenant: true, render: usersPage },
	'tenant/teams': { title: 'Teams', tenant: true, render: teamsPage },
	'tenant/projects': { title: 'Projects', tenant: true, render: projectsPage },
	'tenant/audit': { title: 'Audit log', tenant: true, render: auditPage },
	'tenant/scim': { title: 'SCIM provisioning', tenant: true, render: scimPage },
	'tenant/webhooks': { title: 'Webhooks', tenant: true, render: webhooksPage },
};

let me = null; // the signed-in user, from GET users/me

// showLogin shows the sign-in form, with an error or (notice = true) a plain message.
function showLogin(message, notice = false) {
	me = null;
	session.stop();
	$('loading').hidden = true;
	$('app-view').hidden = true;
	$('login-view').hidden = false;
	replace($('main'));
	$('toast').classList.remove('toast-visible');
	for (const [id, show] of [['login-error', message && !notice], ['login-notice', message && notice]]) {
		$(id).textContent = show ? message : '';
		$(id).hidden = !show;
	}
	$('login-password').value = '';
	$('login-email').focus();
}

async function showApp() {
	const [user, info] = await Promise.all([session.me(), api.get('users/info')]);
	me = user;
	$('account-name').textContent = me.spec.emailId;
	$('account-org').textContent = info.orgName;
	$('tenant-nav').hidden = me.spec.role !== 'tenant-admin';
	$('loading').hidden = true;
	$('login-view').hidden = true;
	$('app-view').hidden = false;
	await route(false);
}

// route renders the page named by the fragment. Tenant pages are offered in the menu
// only to tenant admins, but anyone can type their address: the API then refuses, and
// the page says so with the API's own message.
async function route(moveFocus = true) {
	if (!me) {
		return;
	}
	const hash = location.hash.replace(/^#\/?/, '');
	const name = routes[hash] ? hash : 'keys';
	const r = routes[name];
	for (const a of document.querySelectorAll('.sidebar a')) {
		if (a.dataset.route === name) {
			a.setAttribute('aria-current', 'page');
		} else {
			a.removeAttribute('aria-current');
		}
	}
	document.title = `${r.title} · Keygate console`;
	const main = $('main');
	replace(main, h('p', { class: 'muted loading-inline' }, 'Loading…'));
	try {
		await r.render(main, { me });
	} catch (err) {
		replace(main, errorPage(r, err));
	}
	if (moveFocus) {
		(main.querySelector('h1') || main).focus();
	}
}

function errorPage(r, err) {
	const denied = err.status === 403 || err.status === 404;
	return h('div', { class: 'error-page' },
		h('h1', { tabindex: '-1' }, denied && r.tenant ? 'Tenant Settings are not available' : r.title),
		alertBox(errorText(err), denied && r.tenant ? 'Only tenant admins can open this page. The gateway answered:' : null));
}

async function onLogin(ev) {
	ev.preventDefault();
	const email = $('login-email').value.trim();
	const password = $('login-password').value;
	const orgField = $('login-org-field');
	const org = orgField.hidden ? '' : $('login-org').value.trim();
	const err = $('login-error');
	const btn = ev.target.querySelector('button[type=submit]');
	if (!email || !password) {
		err.textContent = 'Enter your email and password.';
		err.hidden = false;
		return;
	}
	btn.disabled = true;
	err.hidden = true;
	$('login-notice').hidden = true;
	try {
		await session.login(email, password, org);
		$('login-password').value = '';
		await showApp();
	} catch (e) {
		if (e.code === 'OrgRequired') {
			orgField.hidden = false;
			$('login-org').required = true;
			$('login-org').focus();
		}
		err.textContent = errorText(e);
		err.hidden = false;
	} finally {
		btn.disabled = false;
	}
}

async function onLogout() {
	try {
		await session.logout();
	} catch {
		// The session is already gone on the gateway: nothing more to end.
	}
	showLogin('You have signed out.', true);
}

function sessionEnded(err) {
	if (me) {
		showLogin(`Your session has ended (${errorText(err)}). Sign in again.`);
	}
}

// ACTIVATION is the address of a password link: #/activate/<token>.
const ACTIVATION = /^#\/activate\/(.+)$/;

// showActivation shows the form that sets a password with an activation link's token.
// The token is taken out of the address at once, so it stays in no history entry.
function showActivation(token) {
	history.replaceState(null, '', location.pathname + location.search);
	$('loading').hidden = true;
	$('activate-view').hidden = false;
	$('activate-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const password = $('activate-password').value;
		const err = $('activate-error');
		err.hidden = true;
		if (password.length < 8 || password !== $('activate-confirm').value) {
			err.textContent = password.length < 8 ? 'Use at least 8 characters.' : 'The two passwords differ.';
			err.hidden = false;
			return;
		}
		try {
			await request('PATCH', `${authPrefix}password/${encodeURIComponent(token)}/activate`, { password }, { session: false });
			$('activate-view').hidden = true;
			showLogin('Your password is set. Sign in with it.', true);
		} catch (e) {
			err.textContent = errorText(e);
			err.hidden = false;
		}
	});
	$('activate-password').focus();
}

// onSSO asks how the organisation signs in and offers its providers: each link starts
// the provider's sign-in, which comes back to the console signed in (or with ssoError).
async function onSSO(ev) {
	ev.preventDefault();
	const org = $('sso-org').value.trim();
	const err = $('sso-error');
	err.hidden = true;
	replace($('sso-logins'));
	if (!org) {
		err.textContent = 'Name your organization.';
		err.hidden = false;
		return;
	}
	try {
		const ans = await request('GET', `${authPrefix}org?orgName=${encodeURIComponent(org)}`, undefined, { session: false });
		if (ans.authType !== 'sso' || !ans.ssoLogins.length) {
			err.textContent = `${org} signs in with email and password.`;
			err.hidden = false;
			return;
		}
		replace($('sso-logins'), ...ans.ssoLogins.map((l) =>
			h('a', { class: 'btn btn-primary btn-block', href: `${l.redirectUri}?console=true` }, `Sign in with ${l.displayName}`)));
		$('sso-logins').querySelector('a').focus();
	} catch (e) {
		err.textContent = errorText(e);
		err.hidden = false;
	}
}

// ssoFailure is why a single sign-on that came back to the console failed, taken out of
// the address at once.
function ssoFailure() {
	const params = new URLSearchParams(location.search);
	const reason = params.get('ssoError');
	if (reason !== null) {
		history.replaceState(null, '', location.pathname + location.hash);
	}
	return reason;
}

async function start() {
	const ssoError = ssoFailure();
	const activation = location.hash.match(ACTIVATION);
	setUnauthorizedHandler(sessionEnded);
	session.onSessionEnded(sessionEnded);
	$('login-form').addEventListener('submit', onLogin);
	$('sso-form').addEventListener('submit', onSSO);
	$('logout').addEventListener('click', onLogout);
	$('skip').addEventListener('click', () => $('main').focus());
	window.addEventListener('hashchange', () => (ACTIVATION.test(location.hash) ? location.reload() : route()));
	if (activation) { // a password link: no session is resumed, the link's holder may be anyone
		showActivation(decodeURIComponent(activation[1]));
		return;
	}
	try {
		await session.resume();
		await showApp();
	} catch (err) {
		// No session yet (401) is the usual case and needs no message.
		showLogin(ssoError || (err.status === 401 ? '' : errorText(err)));
	}
}

start();
