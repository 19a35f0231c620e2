// The Tenant Settings tables of users and projects: a list fetched from the API and drawn
// into a card, with act to run a change, announce it, show the API's refusal, and then
// fetch and draw the list again.
import { errorText } from './api.js';
import { alertBox, h, notify, replace } from './dom.js';

export function managedTable(fetchItems, drawTable, items) {
	const errorArea = h('div', { class: 'page-alert' });
	const tableArea = h('div', { class: 'card' });
	const showError = (err) => replace(errorArea, alertBox(errorText(err)));
	const render = () => replace(tableArea, drawTable(items, act));
	const load = async () => {
		try {
			items = await fetchItems();
		} catch (err) {
			showError(err);
		}
		render();
	};
	// done is the notice, or a function of fn's result giving it; a falsy result (a
	// dialog cancelled) announces nothing.
	const act = async (fn, done) => {
		replace(errorArea);
		try {
			const result = await fn();
			if (result) {
				notify(typeof done === 'function' ? done(result) : done);
			}
		} catch (err) {
			showError(err);
		}
		await load();
	};
	return { errorArea, tableArea, render, act };
}
