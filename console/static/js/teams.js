// Tenant Settings -> Teams: users holding tenant roles together. A tenant admin creates
// a team, edits its name, members and roles, and deletes it; a member holds the team's
// roles from their very next request.
import { api, listAll } from './api.js';
import { confirmDialog, field, formDialog } from './dialog.js';
import { h, icon, pageHeader, replace, timeEl } from './dom.js';
import { userLabel } from './keyforms.js';
import { rowMenu } from './menu.js';
import { managedTable } from './table.js';

export async function teamsPage(main) {
	const [teams, users, roles] = await Promise.all([listAll('teams'), listAll('users'), api.get('roles')]);
	const tenantRoles = roles.items.filter((r) => r.spec.scope === 'tenant');
	const names = { users: new Map(users.map((u) => [u.metadata.uid, u.spec.emailId])), roles: new Map(tenantRoles.map((r) => [r.metadata.uid, r.metadata.name])) };
	const edit = (team) => teamDialog(team, users, tenantRoles);
	const { errorArea, tableArea, render, act } = managedTable(() => listAll('teams'),
		(items, act) => teamTable(items, names, edit, act), teams);

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-team' }, icon('plus'), 'Add Team');
	add.addEventListener('click', () => act(() => edit(null), 'Team created.'));
	replace(main,
		pageHeader({ crumb: 'Tenant Settings', title: 'Teams', intro: 'A team\'s members hold its tenant roles as well as their own, from their very next request.', actions: [add] }),
		errorArea, tableArea);
	render();
}

function teamTable(teams, names, edit, act) {
	if (!teams.length) {
		return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No teams yet'), h('p', { class: 'muted' }, 'Create one with "Add Team".'));
	}
	const named = (map, uids) => (uids.length ? uids.map((uid) => map.get(uid) || uid).join(', ') : '—');
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'teams-table' },
			h('caption', { class: 'sr-only' }, 'Teams of the tenant'),
			h('thead', {}, h('tr', {}, ['Name', 'Members', 'Roles', 'Created'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
			h('tbody', {}, teams.map((t) => {
				const name = t.metadata.name;
				return h('tr', { dataset: { uid: t.metadata.uid, name } },
					h('th', { scope: 'row', 'data-label': 'Name' }, name),
					h('td', { 'data-label': 'Members', class: 'team-members' }, named(names.users, t.spec.users)),
					h('td', { 'data-label': 'Roles', class: 'team-roles' }, named(names.roles, t.spec.roles)),
					h('td', { 'data-label': 'Created' }, timeEl(t.metadata.creationTimestamp)),
					h('td', { class: 'col-actions' }, rowMenu(`Actions for ${name}`, [
						{ label: 'Edit', onSelect: () => act(() => edit(t), `${name} saved.`) },
						{
							label: 'Delete', danger: true,
							onSelect: () => act(() => confirmDialog({
								title: 'Delete team',
								message: `Delete the team "${name}"? Its members lose its roles at once. This cannot be undone.`,
								confirmLabel: 'Delete',
								action: () => api.del(`teams/${encodeURIComponent(t.metadata.uid)}`),
							}), `${name} deleted.`),
						},
					])));
			}))));
}

// teamDialog creates a team (team null) or replaces one's name, members and roles.
function teamDialog(team, users, roles) {
	const spec = team?.spec || { users: [], roles: [] };
	const body = (form) => ({
		metadata: { name: form.elements.name.value.trim() },
		spec: { users: checked(form, 'member'), roles: checked(form, 'role'), sources: [] },
	});
	return formDialog({
		title: team ? `Edit ${team.metadata.name}` : 'Add Team',
		submitLabel: team ? 'Save team' : 'Create team',
		wide: true,
		fields: [
			field('Name', h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off', value: team?.metadata.name || '' })),
			checkList('Members', 'member', users.map((u) => [u.metadata.uid, userLabel(u)]), spec.users),
			checkList('Tenant roles', 'role', roles.map((r) => [r.metadata.uid, r.metadata.name]), spec.roles),
		],
		submit: (form) => (team ? api.put(`teams/${encodeURIComponent(team.metadata.uid)}`, body(form)) : api.post('teams', body(form))),
	});
}

// checkList is a fieldset of checkboxes named name, one per [value, label], with those
// in chosen checked.
function checkList(legend, name, options, chosen) {
	return h('fieldset', { class: 'fieldset' }, h('legend', {}, legend),
		h('div', { class: 'check-list' }, options.length ? options.map(([value, label]) => h('label', { class: 'check' },
			h('input', { type: 'checkbox', name, value, checked: chosen.includes(value) }), ' ', label)) : h('p', { class: 'muted' }, 'None yet.')));
}

function checked(form, name) {
	return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((el) => el.value);
}
