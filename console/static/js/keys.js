// "My API Keys" and, for tenant admins, "Tenant Settings -> API Keys": the same table,
// the second with every key of the tenant, its user, and a filter by user.
import { api, errorText, listAll, query } from './api.js';
import { confirmDialog, field, select } from './dialog.js';
import { alertBox, badge, h, icon, notify, pageHeader, relativeTimeEl, replace, timeEl, formatDate, formatDateTime, parseTime } from './dom.js';
import { createKeyWizard, editKeyDialog, rollKeyDialog, userLabel } from './keyforms.js';
import { rowMenu } from './menu.js';

// keyStatus is what the Status column says.
export function keyStatus(k) {
	if (k.status.isExpired) {
		return ['Expired', 'expired'];
	}
	return k.status.isActive ? ['Active', 'active'] : ['Inactive', 'inactive'];
}

// SOON is how close an expiry is to be marked "Expires soon": 7 days.
const SOON = 7 * 24 * 60 * 60 * 1000;

// expiresSoon says whether a key that works now stops within SOON.
export function expiresSoon(k, now = Date.now()) {
	const exp = parseTime(k.spec.expiry);
	return Boolean(exp) && k.status.isActive && !k.status.isExpired && exp.getTime() > now && exp.getTime() - now <= SOON;
}

// expiresSoonBadge marks a key that works now and stops within 7 days, with the moment
// in its tooltip; other keys get none.
function expiresSoonBadge(k) {
	if (!expiresSoon(k)) {
		return null;
	}
	const el = badge('Expires soon', 'soon');
	el.classList.add('badge-expires-soon');
	el.title = `Expires ${formatDateTime(parseTime(k.spec.expiry))}`;
	return el;
}

// keysPage renders either page into main. me is the signed-in user; tenant selects the
// tenant-wide page, which needs the user list (and so fails with the API's 403 for
// anyone but a tenant admin).
export async function keysPage(main, { me, tenant }) {
	const users = tenant ? await listAll('users') : null;
	const state = { userUid: tenant ? '' : me.metadata.uid, items: [], cursor: '' };
	const errorArea = h('div', { class: 'page-alert' });
	const tableArea = h('div', { class: 'card' });
	const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, 'Load more');

	const showError = (err) => replace(errorArea, alertBox(errorText(err)));
	// act runs a change and reloads the table; a refusal shows the API's message.
	const act = async (fn, done) => {
		replace(errorArea);
		try {
			await fn();
			if (done) {
				notify(done);
			}
		} catch (err) {
			showError(err);
		}
		await load();
	};

	const load = async (append = false) => {
		try {
			const page = await api.get(`apiKeys${query({ userUid: state.userUid, limit: 50, continue: append ? state.cursor : '' })}`);
			state.items = append ? state.items.concat(page.items) : page.items;
			state.cursor = page.listmeta?.continue || '';
		} catch (err) {
			showError(err);
		}
		replace(tableArea, keyTable(state.items, { tenant, act }));
		more.hidden = !state.cursor;
	};
	more.addEventListener('click', () => load(true));

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-key' }, icon('plus'), 'Add New API Key');
	add.addEventListener('click', async () => {
		const owner = await createKeyWizard({ users, userUid: state.userUid });
		if (owner === null) {
			return;
		}
		notify('API key created.');
		// A key made for another user than the filter shows would seem to vanish: show
		// that user's keys instead.
		if (tenant && state.userUid && owner !== state.userUid) {
			state.userUid = owner;
			document.getElementById('user-filter').value = owner;
		}
		await load();
	});

	const header = tenant
		? pageHeader({ crumb: 'Tenant Settings', title: 'API Keys', intro: 'Every API key in your tenant. Revoking or deleting a key stops it at once.', actions: [add] })
		: pageHeader({ title: 'My API Keys', intro: 'Keys let scripts and tools call the API as you. Send a key in the ApiKey header.', actions: [add] });
	const toolbar = tenant ? userFilter(users, (uid) => { state.userUid = uid; load(); }) : null;
	replace(main, header, toolbar, errorArea, tableArea, h('div', { class: 'more' }, more));
	await load();
}

function userFilter(users, onChange) {
	const sel = select([['', 'All users'], ...users.map((u) => [u.metadata.uid, userLabel(u)])], '', { id: 'user-filter' });
	sel.addEventListener('change', () => onChange(sel.value));
	return h('div', { class: 'toolbar' }, field('User Name', sel));
}

function keyTable(items, { tenant, act }) {
	if (!items.length) {
		return h('div', { class: 'empty' },
			h('p', { class: 'empty-title' }, 'No API keys yet'),
			h('p', { class: 'muted' }, 'Create one with "Add New API Key".'));
	}
	const byUid = new Map(items.map((k) => [k.metadata.uid, k]));
	const cols = ['Name', 'Description', ...(tenant ? ['User'] : []), 'Key', 'Expiration date', 'Status', 'Last used'];
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'keys-table' },
			h('caption', { class: 'sr-only' }, tenant ? 'API keys of the tenant' : 'My API keys'),
			h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
			h('tbody', {}, items.map((k) => keyRow(k, { tenant, act, byUid })))));
}

// rollLink says which key replaced this one, or which it replaced, by the other key's
// hint (the two share a name); the uid when that key is not on this page.
function rollLink(k, byUid) {
	const [text, other] = k.status.rolledTo ? ['Rolled to ', k.status.rolledTo]
		: k.status.rolledFrom ? ['Replaces ', k.status.rolledFrom] : [];
	if (!other) {
		return null;
	}
	const hint = byUid.get(other)?.spec.key;
	return h('span', { class: 'roll-link', dataset: { other } }, text, h('code', { class: 'hint-key' }, hint || other));
}

function keyRow(k, { tenant, act, byUid }) {
	const [status, kind] = keyStatus(k);
	const name = k.metadata.name;
	const description = k.metadata.annotations?.description;
	return h('tr', { dataset: { uid: k.metadata.uid, name } },
		h('th', { scope: 'row', 'data-label': 'Name', class: 'col-name' }, name, rollLink(k, byUid)),
		h('td', { 'data-label': 'Description', class: 'col-desc' }, description || h('span', { class: 'muted' }, '—')),
		tenant ? h('td', { 'data-label': 'User', class: 'col-user' }, k.spec.user?.emailId || '') : null,
		h('td', { 'data-label': 'Key' }, h('code', { class: 'hint-key' }, k.spec.key)),
		h('td', { 'data-label': 'Expiration date', class: 'col-expiry' }, h('span', { class: 'expiry-cell' }, timeEl(k.spec.expiry, { empty: 'Never' }), expiresSoonBadge(k))),
		h('td', { 'data-label': 'Status', class: 'col-status' }, badge(status, kind)),
		h('td', { 'data-label': 'Last used', class: 'col-used' }, relativeTimeEl(k.status.lastUsedTime)),
		h('td', { class: 'col-actions' }, rowMenu(`Actions for ${name}`, keyActions(k, act))));
}

function keyActions(k, act) {
	const path = `apiKeys/${encodeURIComponent(k.metadata.uid)}`;
	const name = k.metadata.name;
	const expired = k.status.isExpired;
	const exp = parseTime(k.spec.expiry);
	const toggle = k.status.isActive && !expired
		? { label: 'Revoke', onSelect: () => act(() => api.patch(path, { isActive: false }), `${name} revoked.`) }
		: {
			label: 'Re-activate',
			disabled: expired,
			title: expired ? `This key expired${exp ? ` on ${formatDate(exp)}` : ''}; an expired key cannot be re-activated. Create a new one.` : null,
			onSelect: () => act(() => api.put(`${path}/state`, { isActive: true }), `${name} re-activated.`),
		};
	return [
		{ label: 'Edit', onSelect: () => act(async () => { if (await editKeyDialog(k)) notify(`${name} saved.`); }) },
		toggle,
		rollAction(k, act),
		{
			label: 'Delete',
			danger: true,
			onSelect: () => act(async () => {
				const deleted = await confirmDialog({
					title: 'Delete API key',
					message: `Delete the key "${name}"? Clients using it are refused at once. This cannot be undone.`,
					confirmLabel: 'Delete',
					action: () => api.del(path),
				});
				if (deleted) {
					notify(`${name} deleted.`);
				}
			}),
		},
	];
}

// rollAction is the Roll item: offered for a key that works and was not rolled already.
function rollAction(k, act) {
	const name = k.metadata.name;
	const why = k.status.rolledTo ? 'This key was rolled already; roll the key that replaced it.'
		: k.status.isExpired ? 'An expired key cannot be rolled. Create a new one.'
			: !k.status.isActive ? 'A revoked key cannot be rolled. Create a new one.' : null;
	return {
		label: 'Roll',
		disabled: Boolean(why),
		title: why,
		onSelect: () => act(async () => { if (await rollKeyDialog(k)) notify(`${name} rolled: the new key is in the list.`); }),
	};
}
