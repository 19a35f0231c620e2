// Tenant Settings -> Projects: create, delete, and grant users project roles (Palette's
// spec.users and spec.teams, each holding project role uids).
import { api, errorText, listAll } from './api.js';
import { confirmDialog, field, formDialog, openDialog, select } from './dialog.js';
import { alertBox, h, icon, notify, pageHeader, replace, timeEl } from './dom.js';
import { userLabel } from './keyforms.js';
import { rowMenu } from './menu.js';
import { managedTable } from './table.js';

export async function projectsPage(main) {
	const [projects, users, roles, teams] = await Promise.all([listAll('projects'), listAll('users'), listAll('roles'), listAll('teams')]);
	const ctx = {
		users, byUid: new Map(users.map((u) => [u.metadata.uid, u])), roles: new Map(roles.map((r) => [r.metadata.uid, r])),
		teams: new Map(teams.map((t) => [t.metadata.uid, t])),
	};
	ctx.projectRoles = roles.filter((r) => r.spec.scope === 'project');
	const { errorArea, tableArea, render, act } = managedTable(() => listAll('projects'),
		(items, act) => projectTable(items, ctx, act), projects);

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-project' }, icon('plus'), 'Add Project');
	add.addEventListener('click', () => act(() => formDialog({
		title: 'Add Project',
		submitLabel: 'Create project',
		fields: [field('Name', h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off' }))],
		submit: (form) => api.post('projects', { metadata: { name: form.elements.name.value.trim() } }),
	}), 'Project created.'));
	replace(main,
		pageHeader({ crumb: 'Tenant Settings', title: 'Projects', intro: 'A request naming a project in its ProjectUid header is let through only for users holding a project role there, themselves or through a team (and tenant admins).', actions: [add] }),
		errorArea, tableArea);
	render();
}

// roleNames are the names of role uids, as the catalogue has them.
function roleNames(uids, ctx) {
	return uids.map((uid) => ctx.roles.get(uid)?.metadata.name || uid).join(', ');
}

// teamName is a team's name, or its uid when the listing did not have it.
function teamName(uid, ctx) {
	return ctx.teams.get(uid)?.metadata.name || uid;
}

// grantList shows who holds which project roles: users by email, teams by name.
function grantList(p, ctx) {
	const users = p.spec?.users || [];
	const teams = p.spec?.teams || [];
	if (!users.length && !teams.length) {
		return h('span', { class: 'muted' }, 'Nobody yet');
	}
	return h('ul', { class: 'grant-list' },
		users.map((g) => h('li', { dataset: { user: g.userId } }, h('span', {}, ctx.byUid.has(g.userId) ? userLabel(ctx.byUid.get(g.userId)) : g.userId), ': ', roleNames(g.roles, ctx))),
		teams.map((g) => h('li', { dataset: { team: g.teamId } }, h('span', {}, `Team ${teamName(g.teamId, ctx)}`), ': ', roleNames(g.roles, ctx))));
}

function projectTable(projects, ctx, act) {
	if (!projects.length) {
		return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No projects yet'), h('p', { class: 'muted' }, 'Create one with "Add Project".'));
	}
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'projects-table' },
			h('caption', { class: 'sr-only' }, 'Projects of the tenant'),
			h('thead', {}, h('tr', {}, ['Name', 'Project UID', 'Users and teams', 'Created'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
			h('tbody', {}, projects.map((p) => {
				const name = p.metadata.name;
				const path = `projects/${encodeURIComponent(p.metadata.uid)}`;
				return h('tr', { dataset: { uid: p.metadata.uid, name } },
					h('th', { scope: 'row', 'data-label': 'Name' }, name),
					h('td', { 'data-label': 'Project UID' }, h('code', {}, p.metadata.uid)),
					h('td', { 'data-label': 'Users and teams', class: 'col-grants' }, grantList(p, ctx)),
					h('td', { 'data-label': 'Created' }, timeEl(p.metadata.creationTimestamp)),
					h('td', { class: 'col-actions' }, rowMenu(`Actions for ${name}`, [
						{ label: 'Project roles', onSelect: () => act(() => grantsDialog(p, ctx), '') },
						{
							label: 'Delete', danger: true,
							onSelect: () => act(() => confirmDialog({
								title: 'Delete project',
								message: `Delete the project "${name}"? Requests naming it are refused from then on. This cannot be undone.`,
								confirmLabel: 'Delete',
								action: () => api.del(path),
							}), `${name} deleted.`),
						},
					])));
			}))));
}

// grantsDialog lists the users holding project roles in a project, each with a remove
// button, and a form to grant a user a project role. Each change sends the whole list of
// user grants (PUT projects/{uid}/users), as Palette's clients do.
async function grantsDialog(project, ctx) {
	const path = `projects/${encodeURIComponent(project.metadata.uid)}`;
	const { dialog, body } = openDialog({ title: `Project roles in ${project.metadata.name}`, wide: true });
	const list = h('ul', { class: 'member-list', 'aria-label': 'Users with project roles' });
	const teams = h('p', { class: 'muted' });
	const error = h('div', { class: 'page-alert' });
	const picker = h('div', { class: 'member-add' });
	let grants = [];

	const label = (uid) => ctx.byUid.get(uid)?.spec.emailId || uid;
	const load = async () => {
		try {
			const p = await api.get(path);
			grants = p.spec?.users || [];
			const held = p.spec?.teams || [];
			replace(teams, held.length ? `Teams: ${held.map((g) => `${teamName(g.teamId, ctx)} (${roleNames(g.roles, ctx)})`).join('; ')}` : 'No team holds a role here.');
		} catch (err) {
			replace(error, alertBox(errorText(err)));
		}
		replace(list, grants.length ? grants.map((g) => h('li', { dataset: { user: g.userId } },
			h('span', {}, ctx.byUid.has(g.userId) ? userLabel(ctx.byUid.get(g.userId)) : g.userId),
			h('span', { class: 'muted' }, roleNames(g.roles, ctx)),
			h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': `Remove ${label(g.userId)}`, onclick: () => save(grants.filter((o) => o.userId !== g.userId), `${label(g.userId)} removed.`) }, 'Remove')))
			: h('li', { class: 'muted' }, 'No user holds a role here.'));
		const who = select([['', 'Choose a user…'], ...ctx.users.map((u) => [u.metadata.uid, userLabel(u)])], '', { name: 'member' });
		const role = select(ctx.projectRoles.map((r) => [r.metadata.uid, r.metadata.name]), ctx.projectRoles.find((r) => r.metadata.name === 'Project Viewer')?.metadata.uid, { name: 'role' });
		const grantBtn = h('button', {
			type: 'button', class: 'btn btn-secondary',
			onclick: () => who.value && save([...grants.filter((o) => o.userId !== who.value), { userId: who.value, roles: [role.value] }], `${label(who.value)} granted ${ctx.roles.get(role.value)?.metadata.name || role.value}.`),
		}, 'Grant role');
		replace(picker, field('User', who), field('Project role', role), grantBtn);
	};
	const save = async (users, done) => {
		replace(error);
		try {
			await api.put(`${path}/users`, { users });
			notify(done);
		} catch (err) {
			replace(error, alertBox(errorText(err)));
		}
		await load();
		picker.querySelector('select')?.focus();
	};
	const closed = new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
	body.append(list, teams, error, picker,
		h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => dialog.close() }, 'Done')));
	await load();
	await closed; // the table refreshes once the dialog is closed
}
