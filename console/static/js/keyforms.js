// The "Add New API Key" wizard, the edit dialog and the roll dialog.
import { api } from './api.js';
import { formDialog, field, select, openDialog } from './dialog.js';
import { h, icon, parseTime, formatDate, uid } from './dom.js';
import { expiryChooser } from './expiry.js';

// userLabel names a user for lists: "Ann Lee (ann@example.com)", or the email alone.
export function userLabel(u) {
	const name = [u.spec?.firstName, u.spec?.lastName].filter(Boolean).join(' ');
	const email = u.spec?.emailId || u.emailId || '';
	return name ? `${name} (${email})` : email;
}

function nameField(value = '') {
	return field('Name', h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off', value }));
}

function descriptionField(value = '') {
	return field('Description', h('input', { name: 'description', maxlength: 1024, autocomplete: 'off', value }), 'Optional: what or who uses the key.');
}

// createKeyWizard asks for the key's details, creates it, then shows it once. users, for
// tenant admins, is the list to pick the key's owner from. It resolves with the owner's
// uid ('' for oneself) if a key was created, or null.
export async function createKeyWizard({ users = null, userUid = '' } = {}) {
	const expiry = expiryChooser({ initial: '30d' });
	const fields = [h('p', { class: 'step' }, 'Step 1 of 2 · Details')];
	if (users) {
		fields.push(field('User', select([['', 'Choose a user…'], ...users.map((u) => [u.metadata.uid, userLabel(u)])], userUid, { name: 'user', required: true })));
	}
	fields.push(nameField(), descriptionField(), expiry.el);
	let owner = '';
	const created = await formDialog({
		title: 'Add New API Key',
		fields,
		submitLabel: 'Create key',
		wide: true,
		submit: (form) => {
			const spec = { ...expiry.value() };
			if (users) {
				spec.userUid = form.elements.user.value;
			}
			owner = spec.userUid || '';
			return api.post('apiKeys', {
				metadata: { name: form.elements.name.value.trim(), annotations: { description: form.elements.description.value.trim() } },
				spec,
			});
		},
	});
	if (!created) {
		return null;
	}
	await showKeyOnce(created.apiKey, { title: 'Add New API Key', step: 'Step 2 of 2 · Copy your key' });
	return owner;
}

// showKeyOnce is the wizard's last step: the key, a copy button, and the warning that it
// will not be shown again (the gateway keeps only its digest).
function showKeyOnce(key, { title, step }) {
	return showSecretOnce({
		title, step, label: 'Your new API key', secret: key,
		warning: 'It will not be shown again: Keygate keeps only a fingerprint of it. If you lose it, create a new key.',
		copied: 'The key was copied to the clipboard.', hint: 'Send it in the ApiKey header of each request.',
	});
}

// showSecretOnce shows a secret the gateway answers only once (an API key, a SCIM token)
// with a copy button and the warning that it will not be shown again. It resolves when
// the dialog is closed.
export function showSecretOnce({ title, step, label, secret, warning, copied, hint, extra = null }) {
	return new Promise((resolve) => {
		const { dialog, body } = openDialog({ title, wide: true });
		const inputId = uid('new-key');
		const input = h('input', { id: inputId, class: 'mono key-output', readonly: true, value: secret, spellcheck: 'false', autocomplete: 'off' });
		const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
		const copyBtn = h('button', { type: 'button', class: 'btn btn-secondary copy-btn', 'aria-describedby': inputId }, icon('copy'), h('span', { class: 'copy-label' }, 'Copy'));
		copyBtn.addEventListener('click', async () => {
			const ok = await copyText(secret, input);
			copyBtn.querySelector('.copy-label').textContent = ok ? 'Copied' : 'Copy';
			status.textContent = ok ? copied : 'Copying is blocked here: the text is selected, press Ctrl+C (⌘C on a Mac).';
		});
		const done = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => dialog.close() }, 'Done');
		body.append(...[
			step ? h('p', { class: 'step' }, step) : null,
			h('div', { class: 'alert alert-warning', role: 'note' }, icon('warn'),
				h('div', {}, h('strong', {}, 'Copy this now. '), warning)),
			h('div', { class: 'field' },
				h('label', { for: inputId }, label),
				h('div', { class: 'copy-row' }, input, copyBtn),
				status,
				h('p', { class: 'hint' }, hint)),
			extra,
			h('div', { class: 'dialog-actions' }, done)].filter(Boolean));
		dialog.addEventListener('close', () => resolve());
		copyBtn.focus();
	});
}

async function copyText(text, input) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		// No clipboard API (a plain-HTTP page that is not localhost) or no permission.
		input.focus();
		input.select();
		try {
			return document.execCommand('copy');
		} catch {
			return false;
		}
	}
}

// editKeyDialog changes a key's name, description and expiration. Resolves true if saved.
export async function editKeyDialog(key) {
	const exp = parseTime(key.spec.expiry);
	const expiry = expiryChooser({ initial: 'keep', keep: exp ? formatDate(exp) : 'never' });
	const saved = await formDialog({
		title: `Edit API key ${key.metadata.name}`,
		fields: [nameField(key.metadata.name), descriptionField(key.metadata.annotations?.description || ''), expiry.el],
		submitLabel: 'Save',
		wide: true,
		submit: (form) => api.put(`apiKeys/${encodeURIComponent(key.metadata.uid)}`, {
			metadata: { name: form.elements.name.value.trim(), annotations: { description: form.elements.description.value.trim() } },
			spec: expiry.value(),
		}),
	});
	return Boolean(saved);
}

// The overlaps the roll dialog offers: how long the old key keeps working.
const OVERLAPS = [
	['0s', 'None', 'The old key stops at once'],
	['1h', '1 hour', ''],
	['24h', '24 hours', 'Recommended'],
	['72h', '3 days', ''],
	['168h', '7 days', 'The longest'],
];

// overlapChooser is the roll dialog's choice of overlap, 24 hours unless changed.
function overlapChooser() {
	const name = uid('overlap');
	const radios = OVERLAPS.map(([value, label, sub]) => {
		const id = uid('overlap-opt');
		return h('div', { class: 'choice' }, h('input', { type: 'radio', name, id, value, checked: value === '24h' }),
			h('label', { for: id }, h('span', { class: 'choice-label' }, label), sub ? h('span', { class: 'choice-sub' }, sub) : null));
	});
	const el = h('fieldset', { class: 'fieldset' }, h('legend', {}, 'Overlap'), h('div', { class: 'choices' }, radios));
	return { el, value: () => el.querySelector(`input[name="${name}"]:checked`)?.value || '24h' };
}

// rollKeyDialog replaces a key with a new one of the same name, description and lifetime,
// then shows the new key once. The old key keeps working for the chosen overlap, so
// clients can move over without an outage. Resolves true if the key was rolled.
export async function rollKeyDialog(key) {
	const overlap = overlapChooser();
	const rolled = await formDialog({
		title: `Roll API key ${key.metadata.name}`,
		fields: [
			h('p', { class: 'step' }, 'Step 1 of 2 · Overlap'),
			h('p', {}, 'A new key replaces this one. Both work until the overlap ends; then only the new key does. Revoke the old key sooner once its last use shows clients have moved.'),
			overlap.el,
		],
		submitLabel: 'Roll key',
		wide: true,
		submit: () => api.post(`apiKeys/${encodeURIComponent(key.metadata.uid)}/roll`, { overlap: overlap.value() }),
	});
	if (!rolled) {
		return false;
	}
	await showKeyOnce(rolled.apiKey, { title: `Roll API key ${key.metadata.name}`, step: 'Step 2 of 2 · Copy the new key' });
	return true;
}
