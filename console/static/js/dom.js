// Small DOM helpers. Text always goes in as text nodes, never as HTML, so nothing the
// API returns can become markup.

// h creates an element: h('button', {class: 'btn', onclick: fn}, 'Save').
// Attributes whose value is null, undefined or false are left out; true sets an empty one.
export function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === null || v === undefined || v === false) {
			continue;
		}
		if (k.startsWith('on')) {
			el.addEventListener(k.slice(2), v);
		} else if (k === 'dataset') {
			Object.assign(el.dataset, v);
		} else {
			el.setAttribute(k, v === true ? '' : String(v));
		}
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) {
			continue;
		}
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

let seq = 0;

// uid returns an id unique on the page, for label/aria wiring.
export function uid(prefix = 'id') {
	seq += 1;
	return `${prefix}-${seq}`;
}

let toastTimer;

// notify shows a short message and has screen readers announce it.
export function notify(message) {
	const toast = document.getElementById('toast');
	toast.textContent = message;
	toast.classList.add('toast-visible');
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => toast.classList.remove('toast-visible'), 4000);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// parseTime reads an RFC 3339 time from the API; absent and zero times are null.
export function parseTime(s) {
	if (!s || s.startsWith('0001-01-01')) {
		return null;
	}
	const d = new Date(s);
	return Number.isNaN(d.getTime()) ? null : d;
}

// timeEl shows a date (or date and time) with the exact time as a tooltip.
export function timeEl(s, { withTime = false, empty = '—' } = {}) {
	const d = parseTime(s);
	if (!d) {
		return h('span', { class: 'muted' }, empty);
	}
	return h('time', { datetime: d.toISOString(), title: d.toString() }, (withTime ? dateTimeFmt : dateFmt).format(d));
}

// relativeTimeEl shows "3 minutes ago" and the like, or `empty` for no time.
export function relativeTimeEl(s, empty = 'Never') {
	const d = parseTime(s);
	if (!d) {
		return h('span', { class: 'muted' }, empty);
	}
	return h('time', { datetime: d.toISOString(), title: dateTimeFmt.format(d) }, relative(d));
}

function relative(d) {
	const secs = Math.round((d.getTime() - Date.now()) / 1000);
	const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
	for (const [unit, size] of units) {
		if (Math.abs(secs) >= size) {
			return relFmt.format(Math.round(secs / size), unit);
		}
	}
	return 'just now';
}

// formatDate is a date for running text, e.g. "Dec 1, 2026".
export function formatDate(d) {
	return dateFmt.format(d);
}

// formatDateTime is a date and time for running text, e.g. "Dec 1, 2026, 3:04 PM".
export function formatDateTime(d) {
	return dateTimeFmt.format(d);
}

// badge is a status pill; kind is one of active, inactive, expired, admin, warning, soon.
export function badge(text, kind) {
	return h('span', { class: `badge badge-${kind}` }, text);
}

// pageHeader is a page's title, intro and actions.
export function pageHeader({ title, crumb, intro, actions = [] }) {
	return h('div', { class: 'page-header' },
		h('div', { class: 'page-title' },
			crumb ? h('p', { class: 'crumb' }, crumb) : null,
			h('h1', { tabindex: '-1' }, title),
			intro ? h('p', { class: 'muted' }, intro) : null),
		h('div', { class: 'page-actions' }, actions));
}

// alertBox shows an error; role=alert has screen readers announce it at once.
export function alertBox(message, title) {
	return h('div', { class: 'alert alert-error', role: 'alert' },
		title ? h('strong', { class: 'alert-title' }, title) : null,
		h('span', { class: 'api-message' }, message));
}

// icon returns one of the console's few inline SVG icons.
export function icon(name) {
	const ns = 'http://www.w3.org/2000/svg';
	const svg = document.createElementNS(ns, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.classList.add('icon', `icon-${name}`);
	for (const d of ICONS[name]) {
		const p = document.createElementNS(ns, 'path');
		p.setAttribute('d', d);
		svg.append(p);
	}
	return svg;
}

const ICONS = {
	dots: ['M12 5.5a1.6 1.6 0 1 0 0-3.2 1.6 1.6 0 0 0 0 3.2Zm0 8.1a1.6 1.6 0 1 0 0-3.2 1.6 1.6 0 0 0 0 3.2Zm0 8.1a1.6 1.6 0 1 0 0-3.2 1.6 1.6 0 0 0 0 3.2Z'],
	plus: ['M12 5v14M5 12h14'],
	copy: ['M9 9h10v10H9z', 'M5 15V5h10'],
	warn: ['M12 3 2 20h20L12 3Z', 'M12 10v4', 'M12 17h.01'],
};
