// Service search for the reference wizard: a box that suggests services as the customer types
// (debounced), each with its category path, and two related services once one is chosen.
//
//   searchServices(text, first)       -> the suggestions under the box
//   relatedServices(microUuid, first) -> "Often posted with" after a choice
//
// The page calls `ServiceSearch.attach({...})` with its elements and what to do on a choice;
// on /post that call is at the bottom of this file, for the page's own pickers.
'use strict';

const ServiceSearch = (() => {
  const SERVICE_FIELDS = 'microService { id slug name category subcategory } path matchedOn';
  const SEARCH_QUERY = `
    query SearchServices($text: String!, $first: Int!) {
      searchServices(text: $text, first: $first) { ${SERVICE_FIELDS} }
    }`;
  const RELATED_QUERY = `
    query RelatedServices($id: UUID!, $first: Int!) {
      relatedServices(microUuid: $id, first: $first) { ${SERVICE_FIELDS} }
    }`;
  const SERVICE_ID_QUERY = 'query ServiceId($slug: String!) { microService(slug: $slug) { id } }';

  // Wait this long after the last keystroke: one request per pause, not one per letter.
  const DEBOUNCE_MS = 250;
  const SUGGESTIONS = 6;
  const RELATED = 2;
  const MAX_TEXT = 500; // the API cuts longer text anyway

  async function graphql(query, variables, apiKey) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const key = apiKey ? await apiKey() : '';
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
    return body.data;
  }

  let optionIds = 0;

  /** A suggestion as a listbox option (the ARIA combobox pattern): name, then its path. */
  function option(match, onPick) {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', 'false');
    li.id = `service-option-${++optionIds}`;
    li.className = 'suggestion';
    li.dataset.slug = match.microService.slug;
    const name = document.createElement('span');
    name.className = 'suggestion-name';
    name.textContent = match.microService.name;
    const path = document.createElement('span');
    path.className = 'suggestion-path';
    path.textContent = match.path.join(' › ');
    li.append(name, path);
    // mousedown, not click: the input keeps the focus while the pointer picks.
    li.addEventListener('mousedown', (event) => event.preventDefault());
    li.addEventListener('click', () => onPick(match.microService));
    return li;
  }

  /** "Often posted with" entries: plain buttons, outside the combobox. */
  function relatedItem(match, onPick) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'suggestion';
    button.dataset.slug = match.microService.slug;
    const name = document.createElement('span');
    name.className = 'suggestion-name';
    name.textContent = match.microService.name;
    const path = document.createElement('span');
    path.className = 'suggestion-path';
    path.textContent = match.path.join(' › ');
    button.append(name, path);
    button.addEventListener('click', () => onPick(match.microService));
    li.append(button);
    return li;
  }

  /**
   * Wire a search box as an ARIA combobox (input role=combobox, list role=listbox): arrows move
   * through the suggestions (aria-activedescendant), Enter chooses, Escape closes, and the
   * number found is announced in `status`.
   *   input:   the text input;  list: the <ul role=listbox>;  related: where related go
   *   status:  a role=status element for announcements (optional)
   *   choose(service, words): the page selects `service` ({id, slug, name, category,
   *            subcategory}); `words` is what the customer typed, or '' for a related pick.
   *            May return a promise of false to refuse the choice (the page asked, and the
   *            customer kept what they had).
   *   apiKey(): the key to send, or '' (or a promise of either; optional)
   * Returns `showRelated(service)`, for a choice the page made by other means.
   */
  function attach({ input, list, related, status, choose, apiKey }) {
    let timer = null;
    let latest = 0; // answers to older requests than the newest are dropped
    let active = -1;

    const options = () => [...list.querySelectorAll('[role="option"]')];

    function announce(text) {
      if (status) status.textContent = text;
    }

    function setOpen(open) {
      list.hidden = !open;
      input.setAttribute('aria-expanded', String(open));
      if (!open) setActive(-1);
    }

    function setActive(index) {
      const items = options();
      active = items.length ? index : -1;
      items.forEach((item, i) => item.setAttribute('aria-selected', String(i === active)));
      if (active >= 0) {
        input.setAttribute('aria-activedescendant', items[active].id);
        items[active].scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }

    async function suggest() {
      const text = input.value.trim().slice(0, MAX_TEXT);
      const ticket = ++latest;
      if (!text) {
        list.replaceChildren();
        setOpen(false);
        announce('');
        return;
      }
      try {
        const data = await graphql(SEARCH_QUERY, { text, first: SUGGESTIONS }, apiKey);
        if (ticket !== latest) return;
        const matches = data.searchServices;
        list.replaceChildren(...matches.map((match) => option(match, (s) => pick(s, text))));
        if (!matches.length) {
          const none = document.createElement('li');
          none.className = 'muted no-match';
          none.setAttribute('role', 'presentation');
          none.textContent = 'No service matches that yet: try other words, or pick from the lists.';
          list.append(none);
          announce('No service matches that yet: try other words, or pick from the lists.');
        } else {
          const n = matches.length;
          announce(`${n} service${n === 1 ? '' : 's'} found: use the up and down arrows to choose.`);
        }
        setOpen(true);
        setActive(-1);
      } catch (err) {
        if (ticket === latest) setOpen(false);
      }
    }

    async function pick(service, words) {
      setOpen(false);
      // The customer's own words stay in the box (and go on into the job's description).
      const accepted = await choose(service, words || '');
      if (accepted === false) return;
      announce(`${service.name} chosen.`);
      showRelated(service);
    }

    async function showRelated(service) {
      related.hidden = true;
      try {
        let id = service.id;
        if (!id) {
          const data = await graphql(SERVICE_ID_QUERY, { slug: service.slug }, apiKey);
          if (!data.microService) return;
          id = data.microService.id;
        }
        const data = await graphql(RELATED_QUERY, { id, first: RELATED }, apiKey);
        const matches = data.relatedServices;
        if (!matches.length) return;
        const heading = document.createElement('p');
        heading.className = 'muted';
        heading.id = 'related-title';
        heading.textContent = 'Often posted with:';
        const items = document.createElement('ul');
        items.className = 'suggestions related';
        items.setAttribute('aria-labelledby', 'related-title');
        items.append(...matches.map((match) => relatedItem(match, (s) => pick(s, ''))));
        related.replaceChildren(heading, items);
        related.hidden = false;
      } catch (err) {
        related.hidden = true; // suggestions are a help, never in the way
      }
    }

    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(suggest, DEBOUNCE_MS);
    });
    input.addEventListener('keydown', (event) => {
      const items = options();
      switch (event.key) {
        case 'ArrowDown':
          event.preventDefault();
          if (list.hidden && items.length) setOpen(true);
          if (items.length) setActive(active < items.length - 1 ? active + 1 : 0);
          break;
        case 'ArrowUp':
          event.preventDefault();
          if (list.hidden && items.length) setOpen(true);
          if (items.length) setActive(active > 0 ? active - 1 : items.length - 1);
          break;
        case 'Escape':
          if (!list.hidden) {
            event.preventDefault();
            setOpen(false);
          } else {
            input.value = '';
          }
          break;
        case 'Enter': {
          event.preventDefault();
          const chosen = items[active >= 0 ? active : 0];
          if (chosen && !list.hidden) chosen.click();
          break;
        }
        default:
          break;
      }
    });
    input.addEventListener('blur', () => setOpen(false));
    return showRelated;
  }

  return { attach };
})();

// /post: a chosen suggestion sets the page's category, subcategory and service pickers, as if
// the customer had picked them, so the wizard carries on exactly as after a manual choice.
document.addEventListener('DOMContentLoaded', () => {
  const $ = (id) => document.getElementById(id);
  const input = $('service-search');
  if (!input) return;

  function setPicker(id, value) {
    const select = $(id);
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  }

  let chosenBySearch = null;
  const showRelated = ServiceSearch.attach({
    input,
    list: $('service-suggestions'),
    related: $('related-services'),
    status: $('service-search-status'),
    apiKey: () => ($('api-key') ? $('api-key').value.trim() : ''),
    async choose(service, words) {
      // post.js asks before a switch would drop answers; false keeps the current service.
      if (window.PostWizard && !(await PostWizard.confirmSwitch(service))) return false;
      if (window.PostWizard) PostWizard.carryWords(words);
      chosenBySearch = service.slug;
      setPicker('category', service.category);
      setPicker('subcategory', service.subcategory);
      setPicker('micro-service', service.slug);
      return true;
    },
  });
  // A service picked from the lists gets its related services too.
  $('micro-service').addEventListener('change', () => {
    const slug = $('micro-service').value;
    if (slug && slug !== chosenBySearch) showRelated({ slug });
    chosenBySearch = null;
  });
});
