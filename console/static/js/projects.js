// Tenant Settings -> Projects: create, delete, and manage members.
import { api, errorText, listAll } from './api.js';
import { confirmDialog, field, formDialog, openDialog, select } from './dialog.js';
import { alertBox, h, icon, notify, pageHeader, replace, timeEl } from './dom.js';
import { userLabel } from './keyforms.js';
import { rowMenu } from './menu.js';
import { managedTable } from './table.js';

export async function projectsPage(main) {
	const [projects, users] = await Promise.all([listAll('projects'), listAll('users')]);
	const { errorArea, tableArea, render, act } = managedTable(() => listAll('projects'),
		(items, act) => projectTable(items, users, act), projects);

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-project' }, icon('plus'), 'Add Project');
	add.addEventListener('click', () => act(() => formDialog({
		title: 'Add Project',
		submitLabel: 'Create project',
		fields: [field('Name', h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off' }))],
		submit: (form) => api.post('projects', { metadata: { name: form.elements.name.value.trim() } }),
	}), 'Project created.'));
	replace(main,
		pageHeader({ crumb: 'Tenant Settings', title: 'Projects', intro: 'A request naming a project in its ProjectUid header is let through only for the project\'s members (and tenant admins).', actions: [add] }),
		errorArea, tableArea);
	render();
}

function projectTable(projects, users, act) {
	if (!projects.length) {
		return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No projects yet'), h('p', { class: 'muted' }, 'Create one with "Add Project".'));
	}
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'projects-table' },
			h('caption', { class: 'sr-only' }, 'Projects of the tenant'),
			h('thead', {}, h('tr', {}, ['Name', 'Project UID', 'Created'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
			h('tbody', {}, projects.map((p) => {
				const name = p.metadata.name;
				const path = `projects/${encodeURIComponent(p.metadata.uid)}`;
				return h('tr', { dataset: { uid: p.metadata.uid, name } },
					h('th', { scope: 'row', 'data-label': 'Name' }, name),
					h('td', { 'data-label': 'Project UID' }, h('code', {}, p.metadata.uid)),
					h('td', { 'data-label': 'Created' }, timeEl(p.metadata.creationTimestamp)),
					h('td', { class: 'col-actions' }, rowMenu(`Actions for ${name}`, [
						{ label: 'Members', onSelect: () => membersDialog(p, users) },
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

// membersDialog lists a project's members, with a remove button each and a form to add one.
async function membersDialog(project, users) {
	const path = `projects/${encodeURIComponent(project.metadata.uid)}`;
	const { dialog, body } = openDialog({ title: `Members of ${project.metadata.name}`, wide: true });
	const list = h('ul', { class: 'member-list', 'aria-label': 'Members' });
	const error = h('div', { class: 'page-alert' });
	const picker = h('div', { class: 'member-add' });
	const byUid = new Map(users.map((u) => [u.metadata.uid, u]));

	const load = async () => {
		let members = [];
		try {
			members = (await api.get(path)).spec?.members || [];
		} catch (err) {
			replace(error, alertBox(errorText(err)));
		}
		replace(list, members.length ? members.map((uid) => h('li', {},
			h('span', {}, byUid.has(uid) ? userLabel(byUid.get(uid)) : uid),
			h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': `Remove ${byUid.get(uid)?.spec.emailId || uid}`, onclick: () => change('DELETE', uid) }, 'Remove')))
			: h('li', { class: 'muted' }, 'No members yet.'));
		const others = users.filter((u) => !members.includes(u.metadata.uid));
		const sel = select([['', 'Choose a user…'], ...others.map((u) => [u.metadata.uid, userLabel(u)])], '', { name: 'member' });
		const addBtn = h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => sel.value && change('PUT', sel.value) }, 'Add member');
		replace(picker, field('Add a member', sel), addBtn);
	};
	const change = async (method, uid) => {
		replace(error);
		try {
			await (method === 'PUT' ? api.put(`${path}/members/${encodeURIComponent(uid)}`) : api.del(`${path}/members/${encodeURIComponent(uid)}`));
			notify(method === 'PUT' ? 'Member added.' : 'Member removed.');
		} catch (err) {
			replace(error, alertBox(errorText(err)));
		}
		await load();
		picker.querySelector('select')?.focus();
	};
	body.append(list, error, picker,
		h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => dialog.close() }, 'Done')));
	await load();
}
