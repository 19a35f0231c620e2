// The expiration chooser: the presets the API knows (7, 30, 60, 90 days) or a date from
// the browser's date picker; when editing, also "keep the current expiry".
import { formatDate, h, uid } from './dom.js';

const PRESETS = [7, 30, 60, 90];
const DAY = 24 * 60 * 60 * 1000;

// dateInputValue is a local date as the date input's YYYY-MM-DD.
function dateInputValue(d) {
	const pad = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// expiryChooser returns the fieldset and a function giving the spec fields to send:
// {expiryPreset: '7d'}, {expiry: '<RFC 3339>'}, or {} to keep the current expiry.
export function expiryChooser({ initial = '30d', keep = null }) {
	const name = uid('expiry');
	const now = new Date();
	const options = [];
	if (keep) {
		options.push(['keep', 'Keep current', keep]);
	}
	for (const days of PRESETS) {
		options.push([`${days}d`, `${days} days`, formatDate(new Date(now.getTime() + days * DAY))]);
	}
	options.push(['custom', 'Custom', 'Pick a date']);

	const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
	const last = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 364);
	const dateId = uid('expiry-date');
	const date = h('input', {
		type: 'date', id: dateId, class: 'date-input', min: dateInputValue(tomorrow), max: dateInputValue(last),
		'aria-describedby': `${dateId}-hint`,
	});
	const radios = options.map(([value, label, sub]) => {
		const id = uid('expiry-opt');
		const input = h('input', { type: 'radio', name, id, value, checked: value === initial });
		return h('div', { class: 'choice' }, input,
			h('label', { for: id }, h('span', { class: 'choice-label' }, label), sub ? h('span', { class: 'choice-sub' }, sub) : null));
	});
	date.addEventListener('input', () => date.setCustomValidity(''));
	const dateField = h('div', { class: 'field field-date', hidden: initial !== 'custom' },
			h('label', { for: dateId }, 'Custom expiration date'),
			date,
			h('p', { class: 'hint', id: `${dateId}-hint` }, 'The key stops working at the start of this day, your time; at most 364 days from today.'));
	const fieldset = h('fieldset', { class: 'fieldset' },
		h('legend', {}, 'Expiration'),
		h('div', { class: 'choices' }, radios),
		dateField);
	// The date picker is shown only for "Custom", which is where it belongs.
	fieldset.addEventListener('change', (ev) => {
		if (ev.target.name === name) {
			dateField.hidden = ev.target.value !== 'custom';
		}
	});

	const value = () => {
		const chosen = fieldset.querySelector(`input[name="${name}"]:checked`)?.value || initial;
		if (chosen === 'keep') {
			return {};
		}
		if (chosen !== 'custom') {
			return { expiryPreset: chosen };
		}
		if (!date.value) {
			date.setCustomValidity('Choose the date the key expires.');
			date.reportValidity();
			throw new Error('Choose the date the key expires.');
		}
		const [y, m, d] = date.value.split('-').map(Number);
		return { expiry: new Date(y, m - 1, d).toISOString() };
	};
	return { el: fieldset, value };
}
