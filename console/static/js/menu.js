// The three-dot row menu, following the WAI-ARIA menu button pattern: Enter, Space or
// ArrowDown open it on the first item, the arrows, Home and End move, Escape closes it
// and returns to the button, Tab closes it. An unavailable item stays focusable with
// aria-disabled and a tooltip saying why, so keyboard and screen reader users learn why.
import { h, icon, uid } from './dom.js';

let openMenu = null; // { menu, button } of the menu that is open, if any

function close(focusButton) {
	if (!openMenu) {
		return;
	}
	const { menu, button } = openMenu;
	openMenu = null;
	menu.hidden = true;
	button.setAttribute('aria-expanded', 'false');
	if (focusButton) {
		button.focus();
	}
}

document.addEventListener('click', (ev) => {
	if (openMenu && !openMenu.menu.contains(ev.target) && !openMenu.button.contains(ev.target)) {
		close(false);
	}
});
window.addEventListener('resize', () => close(false));
window.addEventListener('scroll', () => close(false), true);

// rowMenu returns the button and its menu. items: [{label, onSelect, disabled, title, danger}].
export function rowMenu(label, items) {
	const menuId = uid('menu');
	const button = h('button', {
		type: 'button', class: 'icon-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
		'aria-controls': menuId, 'aria-label': label, title: label,
	}, icon('dots'));
	const entries = items.map((it) => h('button', {
		type: 'button', role: 'menuitem', tabindex: '-1',
		class: it.danger ? 'menu-item menu-item-danger' : 'menu-item',
		'aria-disabled': it.disabled ? 'true' : null,
		title: it.title || null,
		onclick: () => {
			if (it.disabled) {
				return;
			}
			close(true);
			it.onSelect();
		},
	}, it.label));
	const menu = h('div', { id: menuId, role: 'menu', class: 'menu', 'aria-label': label, hidden: true }, entries);

	const open = (focusIndex) => {
		close(false);
		menu.hidden = false;
		button.setAttribute('aria-expanded', 'true');
		place(menu, button);
		openMenu = { menu, button };
		entries[(focusIndex + entries.length) % entries.length].focus();
	};
	button.addEventListener('click', () => (openMenu?.menu === menu ? close(true) : open(0)));
	button.addEventListener('keydown', (ev) => {
		if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
			ev.preventDefault();
			open(ev.key === 'ArrowDown' ? 0 : -1);
		}
	});
	menu.addEventListener('keydown', (ev) => {
		const i = entries.indexOf(document.activeElement);
		const moves = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: entries.length - 1 };
		if (ev.key in moves) {
			ev.preventDefault();
			entries[(moves[ev.key] + entries.length) % entries.length].focus();
		} else if (ev.key === 'Escape') {
			ev.preventDefault();
			close(true);
		} else if (ev.key === 'Tab') {
			close(false);
		}
	});
	return h('div', { class: 'menu-wrap' }, button, menu);
}

// place puts the menu under the button, in the viewport: it is position: fixed so that a
// scrolling table cannot clip it. Positions go through the CSSOM, which the page's
// Content-Security-Policy allows (unlike style attributes).
function place(menu, button) {
	const r = button.getBoundingClientRect();
	const width = menu.offsetWidth;
	const height = menu.offsetHeight;
	const left = Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8));
	const below = r.bottom + 4;
	const top = below + height > window.innerHeight - 8 ? Math.max(8, r.top - height - 4) : below;
	menu.style.left = `${left}px`;
	menu.style.top = `${top}px`;
}
