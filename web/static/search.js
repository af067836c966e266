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

  function item(match, onPick) {
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
   * Wire a search box.
   *   input:   the text input;  list: the <ul> for suggestions;  related: where related go
   *   choose(service): the page selects `service` ({id, slug, name, category, subcategory})
   *   apiKey(): the key to send, or '' (or a promise of either; optional)
   * Returns `showRelated(service)`, for a choice the page made by other means.
   */
  function attach({ input, list, related, choose, apiKey }) {
    let timer = null;
    let latest = 0; // answers to older requests than the newest are dropped

    async function suggest() {
      const text = input.value.trim().slice(0, MAX_TEXT);
      const ticket = ++latest;
      if (!text) {
        list.replaceChildren();
        list.hidden = true;
        return;
      }
      try {
        const data = await graphql(SEARCH_QUERY, { text, first: SUGGESTIONS }, apiKey);
        if (ticket !== latest) return;
        const matches = data.searchServices;
        list.replaceChildren(...matches.map((match) => item(match, pick)));
        if (!matches.length) {
          const none = document.createElement('li');
          none.className = 'muted';
          none.textContent = 'No service matches that yet: try other words, or pick below.';
          list.append(none);
        }
        list.hidden = false;
      } catch (err) {
        if (ticket === latest) list.hidden = true;
      }
    }

    function pick(service) {
      list.hidden = true;
      input.value = service.name;
      choose(service);
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
        heading.textContent = 'Often posted with:';
        const items = document.createElement('ul');
        items.className = 'suggestions';
        items.append(...matches.map((match) => item(match, pick)));
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
      if (event.key === 'Escape') list.hidden = true;
      if (event.key === 'Enter') {
        event.preventDefault();
        const first = list.querySelector('button.suggestion');
        if (first) first.click();
      }
    });
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
    apiKey: () => ($('api-key') ? $('api-key').value.trim() : ''),
    choose(service) {
      chosenBySearch = service.slug;
      setPicker('category', service.category);
      setPicker('subcategory', service.subcategory);
      setPicker('micro-service', service.slug);
    },
  });
  // A service picked from the lists gets its related services too.
  $('micro-service').addEventListener('change', () => {
    const slug = $('micro-service').value;
    if (slug && slug !== chosenBySearch) showRelated({ slug });
    chosenBySearch = null;
  });
});
