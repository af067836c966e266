// The bar at the top of /post: who is signed in, Sign in / Sign out, and the two views (the
// wizard and My jobs). Signing in is the bundled auth.js (oidc-client-ts): the provider's page,
// then back to /post with a code that auth.js exchanges for tokens (PKCE, no secret).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const auth = () => window.PostAuth;

  function apiKeyInUse() {
    return $('api-key').value.trim() !== '';
  }

  function render() {
    const a = auth();
    const signedIn = Boolean(a && a.signedIn);
    let text;
    if (apiKeyInUse()) {
      text = 'Using the API key entered below: it is sent instead of any sign-in.';
      if (signedIn) text += ` (You are also signed in as ${a.who()}.)`;
    } else if (signedIn) {
      text = `Signed in as ${a.who()}.`;
    } else if (a && a.available) {
      text = 'Not signed in. Sign in to publish a job and to see your jobs.';
    } else if (a) {
      text = a.problem;
    } else {
      text = "Sign-in is unavailable: the page's sign-in script is not built (run `make assets`).";
    }
    if (a && a.available && a.problem) text = `${a.problem} ${text}`;
    $('account-status').textContent = text;
    $('sign-in').hidden = !(a && a.available) || signedIn;
    $('sign-out').hidden = !signedIn;
  }

  function show(view) {
    const myJobs = view === 'my-jobs';
    $('view-post').hidden = myJobs;
    $('view-my-jobs').hidden = !myJobs;
    $('view-job').hidden = true;
    $('show-post').setAttribute('aria-pressed', String(!myJobs));
    $('show-my-jobs').setAttribute('aria-pressed', String(myJobs));
    if (myJobs) MyJobs.showList();
  }

  function currentView() {
    return $('view-post').hidden ? 'my-jobs' : 'post';
  }

  async function signIn() {
    // Leaving for the provider's page drops what this page holds: the wizard is kept in this
    // tab's sessionStorage and put back on return (draft.js).
    const started = !$('questions-form').hidden && currentView() === 'post';
    const draft = started && window.PostDraft ? PostDraft.save() : false;
    try {
      await auth().signIn({ view: currentView(), draft });
    } catch (err) {
      $('account-status').textContent = `Signing in could not start (${err.message}).`;
    }
  }

  async function signOut() {
    await auth().signOut();
    MyJobs.reset();
    render();
    show('post');
    $('sign-in').focus();
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('sign-in').addEventListener('click', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('show-post').addEventListener('click', () => show('post'));
    $('show-my-jobs').addEventListener('click', () => show('my-jobs'));
    $('result-my-jobs').addEventListener('click', async () => {
      const id = $('result').dataset.jobId;
      show('my-jobs');
      if (id) await MyJobs.showJob(id);
    });
    $('api-key').addEventListener('input', render);
    if (auth()) {
      try {
        await auth().start();
      } catch (err) {
        // start() reports what it can in `problem`; anything else still leaves the key working.
      }
    }
    render();
    const back = auth() && auth().returnedState;
    if (back && back.view === 'my-jobs') show('my-jobs');
    // A draft left by a sign-in comes back however it ended: signed in, refused or abandoned.
    if (!(back && back.view === 'my-jobs') && window.PostDraft) await PostDraft.restore();
  });
})();
