// Tenant Settings -> SCIM provisioning: the tenant's SCIM token, with which an identity
// provider (Okta, Microsoft Entra) creates, deactivates and deletes users and keeps
// teams' members. A tenant admin makes or rotates it (shown once, then only a hint) and
// ends it; a rotation stops the old token at once.
import { api, errorText } from './api.js';
import { confirmDialog } from './dialog.js';
import { h, icon, notify, pageHeader, relativeTimeEl, replace, timeEl } from './dom.js';
import { showSecretOnce } from './keyforms.js';

export async function scimPage(main) {
	const info = await api.get('users/info');
	const path = `tenants/${encodeURIComponent(info.tenantUid)}/scim/token`;
	const load = async () => {
		try {
			return await api.get(path);
		} catch (err) {
			if (err.status === 404) {
				return null;
			}
			throw err;
		}
	};
	const render = async () => {
		const token = await load();
		const rotate = h('button', { type: 'button', class: 'btn btn-primary', id: 'scim-rotate' }, icon('plus'), token ? 'Rotate token' : 'Create token');
		rotate.addEventListener('click', () => onRotate(path, token, render));
		const actions = [rotate];
		if (token) {
			const end = h('button', { type: 'button', class: 'btn btn-danger', id: 'scim-delete' }, 'Delete token');
			end.addEventListener('click', async () => {
				const done = await confirmDialog({
					title: 'Delete SCIM token',
					message: 'Delete the SCIM token? The identity provider can no longer provision users until a new token is made.',
					confirmLabel: 'Delete', action: () => api.del(path),
				});
				if (done) {
					notify('SCIM token deleted.');
					await render();
				}
			});
			actions.push(end);
		}
		replace(main,
			pageHeader({
				crumb: 'Tenant Settings', title: 'SCIM provisioning', actions,
				intro: 'Your identity provider (Okta, Microsoft Entra) creates, deactivates and deletes users and keeps teams\' members with this token. A deactivated or deleted user\'s keys stop at once.',
			}),
			status(token));
	};
	await render();
}

// status describes the token, or says there is none.
function status(token) {
	if (!token) {
		return h('div', { class: 'empty', id: 'scim-status' }, h('p', { class: 'empty-title' }, 'No SCIM token'), h('p', { class: 'muted' }, 'Create one, then give it and the base URL to your identity provider.'));
	}
	const row = (label, value) => h('div', { class: 'detail-row' }, h('dt', {}, label), h('dd', {}, value));
	return h('dl', { class: 'details', id: 'scim-status' },
		row('Base URL', h('code', { class: 'mono', id: 'scim-base-url' }, token.baseUrl)),
		row('Token', h('code', { class: 'mono', id: 'scim-hint' }, token.hint)),
		row('Created', timeEl(token.createdAt, { withTime: true })),
		row('Last used', relativeTimeEl(token.lastUsedAt)));
}

// onRotate makes a new token, after asking when it replaces one, and shows it once.
async function onRotate(path, token, render) {
	let made;
	if (token) {
		made = await confirmDialog({
			title: 'Rotate SCIM token',
			message: 'Make a new SCIM token? The current one stops working at once: give the new one to your identity provider.',
			confirmLabel: 'Rotate', action: () => api.post(path),
		});
	} else {
		made = await api.post(path).catch((err) => {
			notify(errorText(err));
			return null;
		});
	}
	if (!made) {
		return;
	}
	await showSecretOnce({
		title: 'SCIM token', label: 'Your new SCIM token', secret: made.token,
		warning: 'It will not be shown again: Keygate keeps only a fingerprint of it. If you lose it, rotate it.',
		copied: 'The token was copied to the clipboard.',
		hint: `In your identity provider, set the SCIM base URL to ${made.baseUrl} and this token as the bearer token (HTTP header authentication).`,
	});
	notify(token ? 'SCIM token rotated.' : 'SCIM token created.');
	await render();
}
