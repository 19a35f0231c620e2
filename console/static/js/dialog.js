// Modal dialogs on <dialog>: the browser traps focus inside, closes on Escape, and gives
// focus back to what opened it.
import { errorText } from './api.js';
import { h, uid, replace } from './dom.js';

// openDialog shows a modal and returns it; content and actions may change later.
// It is removed from the page once closed.
export function openDialog({ title, wide = false }) {
	const titleId = uid('dialog-title');
	const body = h('div', { class: 'dialog-body' });
	const dialog = h('dialog', { class: wide ? 'dialog dialog-wide' : 'dialog', 'aria-labelledby': titleId },
		h('h2', { id: titleId, class: 'dialog-title' }, title),
		body);
	const opener = document.activeElement;
	dialog.addEventListener('close', () => {
		dialog.remove();
		if (opener instanceof HTMLElement && opener.isConnected) {
			opener.focus();
		}
	});
	document.body.append(dialog);
	dialog.showModal();
	return { dialog, body };
}

// formDialog shows fields and a submit button. submit(form) runs on submit; if it throws,
// the API's message is shown in the dialog, which stays open. It resolves with what
// submit returned, or null if cancelled.
export function formDialog({ title, fields, submitLabel, danger = false, submit, wide = false }) {
	return new Promise((resolve) => {
		const { dialog, body } = openDialog({ title, wide });
		let result = null;
		const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
		const submitBtn = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary' }, submitLabel);
		const form = h('form', { method: 'dialog', class: 'form', novalidate: true },
			fields, error,
			h('div', { class: 'dialog-actions' },
				h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => dialog.close() }, 'Cancel'),
				submitBtn));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			if (!form.reportValidity()) {
				return;
			}
			submitBtn.disabled = true;
			error.hidden = true;
			try {
				result = (await submit(form)) ?? true;
				dialog.close();
			} catch (err) {
				replace(error, h('span', { class: 'api-message' }, errorText(err)));
				error.hidden = false;
			} finally {
				submitBtn.disabled = false;
			}
		});
		dialog.addEventListener('close', () => resolve(result));
		body.append(form);
		const first = form.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
		(first || submitBtn).focus();
	});
}

// confirmDialog asks before something that cannot be undone.
export function confirmDialog({ title, message, confirmLabel, action }) {
	return formDialog({
		title,
		fields: [h('p', { class: 'confirm-text' }, message)],
		submitLabel: confirmLabel,
		danger: true,
		submit: action,
	});
}

// field is a labelled input. opts go on the control; hint is shown under it.
export function field(label, control, hint) {
	const id = control.id || uid('field');
	control.id = id;
	let hintEl = null;
	if (hint) {
		hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
		control.setAttribute('aria-describedby', hintEl.id);
	}
	return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

// select builds a <select> from [value, label] pairs with `selected` chosen.
export function select(options, selected, attrs = {}) {
	const el = h('select', attrs, options.map(([v, l]) => h('option', { value: v }, l)));
	el.value = selected ?? '';
	return el;
}
