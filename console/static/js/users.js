// Tenant Settings -> Users: create, disable or enable, change role, edit tenant roles,
// reset a password (and show the activation link), delete. Each row names the user's
// tenant roles and teams, from Palette's users summary.
import { api, listAll } from './api.js';
import { confirmDialog, field, formDialog, openDialog, select } from './dialog.js';
import { badge, h, icon, pageHeader, replace, timeEl } from './dom.js';
import { rowMenu } from './menu.js';
import { managedTable } from './table.js';

const ROLES = [['user', 'User'], ['tenant-admin', 'Tenant admin']];
const roleName = (r) => (ROLES.find(([v]) => v === r) || [r, r])[1];

export async function usersPage(main, { me }) {
	const roles = tenantRoles(await api.get('roles'));
	const { errorArea, tableArea, render, act } = managedTable(loadUsers,
		(users, act) => userTable(users, me, roles, act), await loadUsers());

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-user' }, icon('plus'), 'Add User');
	add.addEventListener('click', () => act(createUser, 'User created.'));
	replace(main,
		pageHeader({ crumb: 'Tenant Settings', title: 'Users', intro: 'People in your tenant. Disabling or deleting a user stops their keys and sessions at once.', actions: [add] }),
		errorArea, tableArea);
	render();
}

// tenantRoles are the tenant-scope roles of a /v1/roles answer, as [uid, name].
function tenantRoles(list) {
	return list.items.filter((r) => r.spec.scope === 'tenant').map((r) => [r.metadata.uid, r.metadata.name]);
}

// loadUsers lists the users, each with summary: the names of their roles and teams.
async function loadUsers() {
	const [users, summaries] = await Promise.all([listAll('users'), allSummaries()]);
	const byUid = new Map(summaries.map((s) => [s.metadata.uid, s.spec]));
	return users.map((u) => ({ ...u, summary: byUid.get(u.metadata.uid) || { roles: [], teams: [] } }));
}

// allSummaries follows POST users/summary's continue to the end (at most 20 pages).
async function allSummaries() {
	const all = [];
	let cursor = '';
	for (let i = 0; i < 20; i++) {
		const page = await api.post(`users/summary?limit=50${cursor ? `&continue=${encodeURIComponent(cursor)}` : ''}`, {});
		all.push(...page.items);
		cursor = page.listmeta?.continue;
		if (!cursor) {
			break;
		}
	}
	return all;
}

const names = (list) => (list.length ? list.map((x) => x.name).join(', ') : h('span', { class: 'muted' }, '—'));

function createUser() {
	return formDialog({
		title: 'Add User',
		submitLabel: 'Create user',
		fields: [
			field('Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'off' })),
			h('div', { class: 'field-row' },
				field('First name', h('input', { name: 'first', autocomplete: 'off' })),
				field('Last name', h('input', { name: 'last', autocomplete: 'off' }))),
			field('Role', select(ROLES, 'user', { name: 'role' })),
			field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), 'Optional: without one, the user gets an activation link, valid for 24 hours, to choose one (shown in this list).'),
		],
		submit: (form) => {
			const f = form.elements;
			return api.post('users', {
				metadata: { name: f.email.value.trim() },
				spec: { emailId: f.email.value.trim(), firstName: f.first.value.trim(), lastName: f.last.value.trim(), role: f.role.value, password: f.password.value },
			});
		},
	});
}

function userTable(users, me, roles, act) {
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'users-table' },
			h('caption', { class: 'sr-only' }, 'Users of the tenant'),
			h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Tenant roles', 'Teams', 'Status', 'Created'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
			h('tbody', {}, users.map((u) => userRow(u, me, roles, act)))));
}

function userRow(u, me, roles, act) {
	const email = u.spec.emailId;
	const name = [u.spec.firstName, u.spec.lastName].filter(Boolean).join(' ');
	const path = `users/${encodeURIComponent(u.metadata.uid)}`;
	const active = u.status.active;
	const items = [
		{ label: 'Change role', onSelect: () => act(() => changeRole(u, path), (role) => `${email}: role changed to ${roleName(role)}.`) },
		{ label: 'Edit roles', onSelect: () => act(() => editRoles(u, path, roles), `${email}: tenant roles saved.`) },
		active
			? { label: 'Disable', onSelect: () => act(() => api.patch(path, { status: { active: false } }).then(() => true), `${email} disabled.`) }
			: { label: 'Enable', onSelect: () => act(() => api.patch(path, { status: { active: true } }).then(() => true), `${email} enabled.`) },
		{ label: 'Reset password', onSelect: () => act(() => api.patch(`${path}/password/reset`).then(() => true), `${email}: a new activation link was made.`) },
		u.status.activationLink ? { label: 'Activation link', onSelect: () => showActivationLink(u) } : null,
		{
			label: 'Delete', danger: true,
			onSelect: () => act(() => confirmDialog({
				title: 'Delete user',
				message: `Delete ${email}? Their API keys and sessions stop at once. This cannot be undone.`,
				confirmLabel: 'Delete',
				action: () => api.del(path),
			}), `${email} deleted.`),
		},
	].filter(Boolean);
	return h('tr', { dataset: { uid: u.metadata.uid, email } },
		h('th', { scope: 'row', 'data-label': 'Name' }, name || h('span', { class: 'muted' }, '—'), u.metadata.uid === me.metadata.uid ? h('span', { class: 'you' }, ' (you)') : null),
		h('td', { 'data-label': 'Email' }, email),
		h('td', { 'data-label': 'Role', class: 'col-role' }, roleName(u.spec.role)),
		h('td', { 'data-label': 'Tenant roles', class: 'col-roles' }, names(u.summary.roles)),
		h('td', { 'data-label': 'Teams', class: 'col-teams' }, names(u.summary.teams)),
		h('td', { 'data-label': 'Status', class: 'col-status' }, active ? badge('Active', 'active') : badge('Disabled', 'inactive'),
			u.status.activationLink ? badge('Activation pending', 'inactive') : null),
		h('td', { 'data-label': 'Created' }, timeEl(u.metadata.creationTimestamp)),
		h('td', { class: 'col-actions' }, rowMenu(`Actions for ${email}`, items)));
}

function changeRole(u, path) {
	return formDialog({
		title: `Change role of ${u.spec.emailId}`,
		submitLabel: 'Change role',
		fields: [field('Role', select(ROLES, u.spec.role, { name: 'role' }), 'Tenant admins manage every key, user and project of the tenant.')],
		submit: async (form) => {
			await api.patch(path, { spec: { role: form.elements.role.value } });
			return form.elements.role.value;
		},
	});
}

// editRoles replaces the tenant roles the user holds directly (PUT users/{uid} with
// Palette's spec.roles; the names stay). Roles held through teams are not changed here.
function editRoles(u, path, roles) {
	const held = new Set(u.spec.roles || []);
	const choices = roles.map(([value, label]) => {
		const id = `role-${value}`;
		return h('div', { class: 'choice' }, h('input', { type: 'checkbox', name: 'roles', id, value, checked: held.has(value) }),
			h('label', { for: id }, h('span', { class: 'choice-label' }, label)));
	});
	return formDialog({
		title: `Tenant roles of ${u.spec.emailId}`,
		submitLabel: 'Save roles',
		fields: [h('fieldset', { class: 'fieldset' }, h('legend', {}, 'Tenant roles held directly'), h('div', { class: 'choices' }, choices),
			h('p', { class: 'hint' }, 'Takes effect on the user\'s next request. Roles from teams stay.'))],
		submit: async (form) => {
			const chosen = [...form.querySelectorAll('input[name=roles]:checked')].map((i) => i.value);
			await api.put(path, { metadata: { name: u.metadata.name }, spec: { firstName: u.spec.firstName, lastName: u.spec.lastName, roles: chosen } });
			return true;
		},
	});
}

// showActivationLink shows a user's pending password link, to hand over: there is no mail
// server. It works once, within 24 hours of being made.
function showActivationLink(u) {
	const link = new URL(u.status.activationLink, location.href).href;
	const { dialog, body } = openDialog({ title: `Activation link of ${u.spec.emailId}`, wide: true });
	const input = h('input', { id: 'activation-link', class: 'mono key-output', readonly: true, value: link, spellcheck: 'false', autocomplete: 'off' });
	body.append(
		h('p', {}, 'Give this link to the user, privately: whoever opens it chooses the password. It works once, within 24 hours; a new reset replaces it.'),
		h('div', { class: 'field' }, h('label', { for: 'activation-link' }, 'Link'), input),
		h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => dialog.close() }, 'Done')));
	input.focus();
	input.select();
}
