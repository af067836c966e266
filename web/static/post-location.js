// Adds location.js's two steps to /post without touching post.js: "Where is the job?" first,
// "Photos of the job" last (post.js's buildSteps is where a page adds a kind of step), and
// `location` / `photoIds` sent with publishJob. The server's errors at `location` and
// `photoIds` need nothing more: post.js puts every `extensions.fields` message in the slot
// `error-<field>`, which these steps provide, and brings their step back.
//
// A page that builds its own publishJob input calls JobLocation itself instead:
//     const [where, photos] = JobLocation.steps({ apiKey });  // or JobLocation.mount(el)
//     Object.assign(input, JobLocation.input());              // before publishJob
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
      const fresh = pageKeysUsed.has(pageKey) ? newIdempotencyKey() : pageKey; // eslint-disable-line no-undef
      pageKeysUsed.add(pageKey);
      keys.set(id, fresh);
    }
    return keys.get(id);
  }

  // Uploads act for the caller: the API key typed into the page, else the customer's token.
  const apiKey = () => bearer({ identify: true }); // eslint-disable-line no-undef

  /* eslint-disable no-undef, no-global-assign -- post.js's page-level functions, wrapped */
  const questionStepsOf = buildSteps;
  buildSteps = function (wizard) {
    const [where, photos] = JobLocation.steps({ apiKey });
    return [where, ...questionStepsOf(wizard), photos];
  };

  const publish = graphql;
  graphql = async function (query, variables, options) {
    if (variables && variables.input && /publishJob/.test(query)) {
      const problems = JobLocation.problems();
      if (Object.keys(problems).length) {
        // Shown like the server's own field errors: at the field, its step brought back.
        throw new ApiError(Object.values(problems)[0], 'BAD_USER_INPUT', problems);
      }
      const extra = JobLocation.input();
      Object.assign(variables.input, extra);
      if (variables.input.idempotencyKey) {
        variables.input.idempotencyKey = idempotencyKey(
          variables.input.idempotencyKey, JSON.stringify(extra),
        );
      }
    }
    return publish(query, variables, options);
  };
  /* eslint-enable no-undef, no-global-assign */
})();
