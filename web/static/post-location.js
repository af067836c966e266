// Puts location.js's step into /post without touching post.js: the page's own functions are
// wrapped where they meet the API, so the wizard sends `location` and `photoIds` with
// publishJob and shows the server's `location` / `photoIds` errors at those fields.
//
// Where a page builds its publishJob input itself, it calls JobLocation directly instead:
//     Object.assign(input, JobLocation.input());            // before publishJob
//     const rest = JobLocation.showErrors(err.fields);      // place the errors it owns
// and this file is not needed.
'use strict';

(function () {
  if (!window.JobLocation) return;

  // post.js picks the idempotency key from the answers it sends; the location and photos are
  // part of the job too, so an input that differs only there must not reuse that key (the
  // server would refuse it as reused). Each (page key, location and photos) gets a key of its
  // own; a retry of the very same input keeps its key, and so gets the same job.
  const keys = new Map();
  const pageKeysUsed = new Set();

  function idempotencyKey(pageKey, extra) {
    const id = `${pageKey}\n${extra}`;
    if (!keys.has(id)) {
      const fresh = pageKeysUsed.has(pageKey)
        ? (window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)
        : pageKey;
      pageKeysUsed.add(pageKey);
      keys.set(id, fresh);
    }
    return keys.get(id);
  }

  function apiKey() {
    const field = document.getElementById('api-key');
    return field ? field.value.trim() : '';
  }

  document.addEventListener('DOMContentLoaded', () => {
    const form = document.getElementById('questions-form');
    if (!form) return;
    const section = document.createElement('section');
    section.id = 'step-location';
    section.className = 'location-step';
    const title = document.createElement('h3');
    title.textContent = 'Where is the job, and what does it look like?';
    const body = document.createElement('div');
    section.append(title, body);
    const actions = form.querySelector('.actions, .wizard-actions');
    form.insertBefore(section, actions || null);
    JobLocation.mount(body, { apiKey });

    const publish = graphql; // eslint-disable-line no-undef -- post.js's API call
    graphql = async function (query, variables) { // eslint-disable-line no-global-assign
      if (variables && variables.input && /publishJob/.test(query)) {
        const problems = JobLocation.problems();
        if (Object.keys(problems).length) {
          const first = Object.values(problems)[0];
          throw new ApiError(first, 'BAD_USER_INPUT', problems); // eslint-disable-line no-undef
        }
        const extra = JobLocation.input();
        Object.assign(variables.input, extra);
        if (variables.input.idempotencyKey) {
          variables.input.idempotencyKey = idempotencyKey(
            variables.input.idempotencyKey, JSON.stringify(extra),
          );
        }
      }
      return publish(query, variables);
    };

    const show = showFormError; // eslint-disable-line no-undef
    showFormError = function (err) { // eslint-disable-line no-global-assign
      JobLocation.clearErrors();
      const rest = JobLocation.showErrors(err.fields);
      const placed = Object.keys(err.fields || {}).length - Object.keys(rest).length;
      err.fields = rest;
      show(err);
      if (placed && !document.querySelector('.field.invalid:not(#field-location):not(#field-photoIds)')) {
        const target = document.querySelector('#field-location.invalid, #field-photoIds.invalid');
        if (target) target.scrollIntoView({ behavior: 'smooth', block: 'center' });
      }
    };

    const again = startOver; // eslint-disable-line no-undef
    startOver = function () { // eslint-disable-line no-global-assign
      JobLocation.reset();
      again();
    };
  });
})();
