// Tenant Settings -> Audit log: every change and login in the tenant, newest first, a
// page at a time.
import { api, query } from './api.js';
import { h, pageHeader, replace, timeEl } from './dom.js';

const PAGE = 25;

export async function auditPage(main) {
	const cursors = ['']; // the cursor of each page seen so far; the last is the current one
	const tableArea = h('div', { class: 'card' });
	const info = h('span', { class: 'muted pager-info', 'aria-live': 'polite' });
	const newer = h('button', { type: 'button', class: 'btn btn-secondary', id: 'audit-newer' }, '← Newer');
	const older = h('button', { type: 'button', class: 'btn btn-secondary', id: 'audit-older' }, 'Older →');
	let next = '';

	const load = async () => {
		const page = await api.get(`audit${query({ limit: PAGE, continue: cursors[cursors.length - 1] })}`);
		next = page.listmeta?.continue || '';
		replace(tableArea, auditTable(page.items));
		newer.disabled = cursors.length === 1;
		older.disabled = !next;
		info.textContent = `Page ${cursors.length}`;
	};
	newer.addEventListener('click', () => { cursors.pop(); load(); });
	older.addEventListener('click', () => { cursors.push(next); load(); });

	await load(); // before anything is shown, so a refusal shows as the page's error
	replace(main,
		pageHeader({ crumb: 'Tenant Settings', title: 'Audit log', intro: 'Every change to keys, users and projects, and every sign-in, newest first.' }),
		tableArea,
		h('nav', { class: 'pager', 'aria-label': 'Audit log pages' }, newer, info, older));
}

function auditTable(items) {
	if (!items.length) {
		return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'Nothing recorded yet'));
	}
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data', id: 'audit-table' },
			h('caption', { class: 'sr-only' }, 'Audit log, newest first'),
			h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Target', 'Source IP', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, items.map((e) => h('tr', {},
				h('td', { 'data-label': 'Time' }, timeEl(e.metadata.creationTimestamp, { withTime: true })),
				h('td', { 'data-label': 'Actor' }, e.spec.actor.emailId || e.spec.actor.uid || h('span', { class: 'muted' }, 'operator')),
				h('td', { 'data-label': 'Action', class: 'col-action' }, h('code', {}, e.spec.action)),
				h('td', { 'data-label': 'Target' }, target(e.spec.target)),
				h('td', { 'data-label': 'Source IP' }, e.spec.sourceIp || '—'),
				h('td', { 'data-label': 'Detail', class: 'col-detail' }, e.spec.detail || h('span', { class: 'muted' }, '—')))))));
}

// target names what an event changed: its kind and the start of its uid (all of it in
// the tooltip).
function target({ kind, uid }) {
	if (!kind) {
		return '—';
	}
	if (!uid) {
		return kind;
	}
	return h('span', { title: uid }, `${kind} `, h('code', {}, uid.length > 8 ? `${uid.slice(0, 8)}…` : uid));
}
