// Tenant Settings -> Webhooks: receivers the gateway posts the tenant's events to, each
// signed with the receiver's own secret (shown once, when it is registered). A tenant
// admin registers and deletes receivers and follows each one's recent deliveries:
// delivered, still being retried (with the receiver's last error), or failed for good.
import { api, errorText } from './api.js';
import { confirmDialog, field, formDialog } from './dialog.js';
import { alertBox, badge, formatDateTime, h, icon, notify, pageHeader, parseTime, relativeTimeEl, replace, timeEl } from './dom.js';
import { showSecretOnce } from './keyforms.js';

// REFRESH is how often the deliveries of the page on show are read again.
const REFRESH = 5000;

// How many deliveries per receiver the page shows.
const RECENT = 20;

let eventTypes = null; // the EventType enum of the gateway's OpenAPI document, once read

// loadEventTypes reads the event types from the gateway's own API description, so the
// form offers exactly what the gateway accepts.
async function loadEventTypes() {
	if (!eventTypes) {
		const doc = await api.get('openapi.json');
		eventTypes = doc?.components?.schemas?.EventType?.enum || [];
	}
	return eventTypes;
}

export async function webhooksPage(main) {
	const hooks = (await api.get('webhooks')).items;
	const errorArea = h('div', { class: 'page-alert' });
	const listArea = h('div', { class: 'webhook-list', id: 'webhooks' });
	const showError = (err) => replace(errorArea, alertBox(errorText(err)));
	const panels = new Map(); // uid -> { refresh }

	const render = (items) => {
		panels.clear();
		if (!items.length) {
			replace(listArea, h('div', { class: 'card empty', id: 'webhooks-empty' },
				h('p', { class: 'empty-title' }, 'No webhooks yet'),
				h('p', { class: 'muted' }, 'Register a receiver with "Add Webhook": Keygate then posts each change in the tenant to it, signed.')));
			return;
		}
		replace(listArea, items.map((w) => {
			const p = receiverPanel(w, { onDelete: () => onDelete(w) });
			panels.set(w.uid, p);
			return p.el;
		}));
		for (const p of panels.values()) {
			p.refresh();
		}
	};
	const reload = async () => {
		try {
			render((await api.get('webhooks')).items);
		} catch (err) {
			showError(err);
		}
	};
	const onDelete = async (w) => {
		replace(errorArea);
		const deleted = await confirmDialog({
			title: 'Delete webhook',
			message: `Delete the receiver ${w.url}? Keygate stops posting events to it at once, and its pending deliveries are dropped. This cannot be undone.`,
			confirmLabel: 'Delete',
			action: () => api.del(`webhooks/${encodeURIComponent(w.uid)}`),
		});
		if (deleted) {
			notify('Webhook deleted.');
			await reload();
		}
	};

	const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'add-webhook' }, icon('plus'), 'Add Webhook');
	add.addEventListener('click', async () => {
		replace(errorArea);
		let types;
		try {
			types = await loadEventTypes();
		} catch (err) {
			showError(err);
			return;
		}
		const made = await registerDialog(types);
		if (!made) {
			return;
		}
		await showSecretOnce({
			title: 'Webhook signing secret', label: 'Signing secret', secret: made.secret,
			warning: 'This secret is shown once, now: Keygate will not show it again. If you lose it, delete the webhook and register it again.',
			copied: 'The secret was copied to the clipboard.',
			hint: `Your receiver at ${made.url} checks each request's webhook-signature header with it (Standard Webhooks).`,
		});
		notify('Webhook registered.');
		await reload();
	});
	const refresh = h('button', { type: 'button', class: 'btn btn-secondary', id: 'webhooks-refresh' }, 'Refresh');
	refresh.addEventListener('click', () => reload());

	replace(main,
		pageHeader({
			crumb: 'Tenant Settings', title: 'Webhooks', actions: [refresh, add],
			intro: 'Keygate posts each change in your tenant (keys, users, teams, projects) to these receivers, signed with the receiver\'s secret, and retries a receiver that fails for a day.',
		}),
		errorArea, listArea);
	render(hooks);

	// The deliveries are read again while this page is on show; leaving it stops that.
	const timer = setInterval(() => {
		if (!listArea.isConnected) {
			clearInterval(timer);
		} else if (document.visibilityState === 'visible') {
			for (const p of panels.values()) {
				p.refresh();
			}
		}
	}, REFRESH);
}

// registerDialog asks for the receiver's URL, description and event types (none: all).
function registerDialog(types) {
	return formDialog({
		title: 'Add Webhook',
		submitLabel: 'Register webhook',
		wide: true,
		fields: [
			field('Receiver URL', h('input', { name: 'url', type: 'url', required: true, maxlength: 2048, autocomplete: 'off', placeholder: 'https://hooks.example.com/keygate' }),
				'Keygate posts signed JSON events here; use HTTPS.'),
			field('Description', h('input', { name: 'description', maxlength: 1024, autocomplete: 'off' }), 'Optional: what the receiver does.'),
			h('fieldset', { class: 'fieldset' }, h('legend', {}, 'Events'),
				h('p', { class: 'hint' }, 'Leave all unchecked to receive every event, including types added later.'),
				h('div', { class: 'check-list', id: 'webhook-events' }, types.map((t) => h('label', { class: 'check' },
					h('input', { type: 'checkbox', name: 'event', value: t }), ' ', h('code', {}, t))))),
		],
		submit: (form) => api.post('webhooks', {
			url: form.elements.url.value.trim(),
			description: form.elements.description.value.trim(),
			events: [...form.querySelectorAll('input[name="event"]:checked')].map((el) => el.value),
		}),
	});
}

// receiverPanel is one receiver's card: what it gets, and its recent deliveries.
function receiverPanel(w, { onDelete }) {
	const deliveries = h('div', { class: 'deliveries' }, h('p', { class: 'muted loading-inline' }, 'Loading deliveries…'));
	const del = h('button', { type: 'button', class: 'btn btn-danger btn-small webhook-delete', 'aria-label': `Delete webhook ${w.url}` }, 'Delete');
	del.addEventListener('click', onDelete);
	const events = w.events.length
		? h('span', { class: 'webhook-events' }, w.events.map((e) => h('code', { class: 'event-type' }, e)))
		: h('span', { class: 'webhook-events muted' }, 'All events');
	const el = h('section', { class: 'card webhook', dataset: { uid: w.uid, url: w.url }, 'aria-label': `Webhook ${w.url}` },
		h('div', { class: 'webhook-head' },
			h('div', { class: 'webhook-title' },
				h('h2', { class: 'webhook-url mono' }, w.url),
				w.description ? h('p', { class: 'muted webhook-desc' }, w.description) : null),
			del),
		h('dl', { class: 'details webhook-details' },
			h('div', { class: 'detail-row' }, h('dt', {}, 'Events'), h('dd', {}, events)),
			h('div', { class: 'detail-row' }, h('dt', {}, 'Created'), h('dd', { class: 'webhook-created' }, timeEl(w.createdAt, { withTime: true })))),
		h('h3', { class: 'deliveries-title' }, 'Recent deliveries'),
		deliveries);
	let busy = false;
	const refresh = async () => {
		if (busy) {
			return;
		}
		busy = true;
		try {
			const ans = await api.get(`webhooks/${encodeURIComponent(w.uid)}/deliveries?limit=${RECENT}`);
			replace(deliveries, deliveryTable(ans.items));
		} catch (err) {
			replace(deliveries, alertBox(errorText(err), 'The deliveries cannot be read:'));
		} finally {
			busy = false;
		}
	};
	return { el, refresh };
}

// deliveryStatus is what a delivery's badge says: one still pending that the receiver
// refused is being retried, and marked as failing.
function deliveryStatus(d) {
	if (d.status === 'delivered') {
		return ['Delivered', 'active', 'delivered'];
	}
	if (d.status === 'failed') {
		return ['Failed', 'expired', 'failed'];
	}
	return d.attempts > 0 ? ['Retrying', 'warning', 'retrying'] : ['Pending', 'inactive', 'pending'];
}

// nextAttemptEl says when a pending delivery is tried again; within the minute, in words
// ("in under a minute") rather than the "just now" of past times.
function nextAttemptEl(s) {
	const d = parseTime(s);
	if (!d) {
		return h('span', { class: 'muted' }, '—');
	}
	const wait = d.getTime() - Date.now();
	if (wait >= 60000) {
		return relativeTimeEl(s);
	}
	return h('time', { datetime: d.toISOString(), title: formatDateTime(d) }, wait <= 0 ? 'Due now' : 'In under a minute');
}

function deliveryTable(items) {
	if (!items.length) {
		return h('p', { class: 'muted deliveries-empty' }, 'No deliveries yet: they appear here as events happen.');
	}
	const cols = ['Event', 'Status', 'Attempts', 'Last error', 'Created', 'Last attempt', 'Next attempt'];
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'data deliveries-table' },
			h('caption', { class: 'sr-only' }, 'Recent deliveries'),
			h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, items.map((d) => {
				const [text, kind, state] = deliveryStatus(d);
				const failing = state === 'failed' || state === 'retrying';
				const error = d.lastError || (d.lastStatus && d.lastStatus >= 300 ? `HTTP ${d.lastStatus}` : '');
				return h('tr', { class: failing ? `delivery delivery-${state} delivery-failing` : `delivery delivery-${state}`, dataset: { uid: d.uid, event: d.eventId, status: d.status } },
					h('th', { scope: 'row', 'data-label': 'Event' }, h('code', { class: 'event-type' }, d.eventType)),
					h('td', { 'data-label': 'Status', class: 'col-status' }, badge(text, kind)),
					h('td', { 'data-label': 'Attempts', class: 'col-attempts' }, String(d.attempts)),
					h('td', { 'data-label': 'Last error', class: 'col-detail col-error' }, error ? h('span', { class: 'error-text' }, error) : h('span', { class: 'muted' }, '—')),
					h('td', { 'data-label': 'Created' }, relativeTimeEl(d.createdAt, '—')),
					h('td', { 'data-label': 'Last attempt' }, relativeTimeEl(d.lastAttemptAt, '—')),
					h('td', { 'data-label': 'Next attempt' }, d.status === 'pending' ? nextAttemptEl(d.nextAttemptAt) : h('span', { class: 'muted' }, '—')));
			}))));
}
