// The wizard's draft across a sign-in: signing in leaves /post for the provider's page and
// comes back to a fresh page, so what the customer entered is kept in sessionStorage (this tab
// only, gone when it closes) just before leaving, and put back once the page is back: the
// service and step, the answers, the words from the search box, the postcode and address line,
// the description and the contact details as typed. Photos stay on the server but not in the
// draft: the photo step asks for them again. The draft is read once, then deleted.
'use strict';

window.PostDraft = (() => {
  const KEY = 'jobwizard.draft';
  const $ = (id) => document.getElementById(id);
  const value = (id) => ($(id) ? $(id).value : '');
  const setValue = (id, text) => {
    if ($(id) && typeof text === 'string') $(id).value = text;
  };

  /* eslint-disable no-undef -- post.js's page-level state and functions */
  function save() {
    if (!state.wizard || !state.currentStep) return false;
    const chosen = document.querySelector('input[name="preferredContact"]:checked');
    const draft = {
      path: state.path,
      step: state.currentStep.id,
      answers: currentAnswers(),
      words: state.words,
      postcode: value('postcode'),
      addressLine: value('address-line'),
      description: value('description'),
      contact: {
        name: value('contact-name'),
        email: value('contact-email'),
        phone: value('contact-phone'),
        preferredContact: chosen ? chosen.value : null,
      },
    };
    sessionStorage.setItem(KEY, JSON.stringify(draft));
    return true;
  }

  function take() {
    const raw = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    try {
      const draft = raw ? JSON.parse(raw) : null;
      return draft && Array.isArray(draft.path) ? draft : null;
    } catch (err) {
      return null;
    }
  }

  /** The saved wizard back on screen at its step; false when there was none to restore. */
  async function restore() {
    const draft = take();
    if (!draft) return false;
    let data;
    try {
      data = await graphql(QUESTIONS_QUERY, { path: draft.path });
    } catch (err) {
      showFormError(err);
      return false;
    }
    state.words = draft.words || '';
    if (window.JobDetails) JobDetails.carry(state.words);
    showWizard(data.wizardQuestions, draft.path, draft.answers || {});
    if (state.categories.length) restorePickers();
    setValue('postcode', draft.postcode);
    setValue('address-line', draft.addressLine);
    if ($('postcode')) $('postcode').dispatchEvent(new Event('input'));
    setValue('description', draft.description);
    if ($('description')) $('description').dispatchEvent(new Event('input'));
    const contact = draft.contact || {};
    setValue('contact-name', contact.name);
    setValue('contact-email', contact.email);
    setValue('contact-phone', contact.phone);
    const radio = document.querySelector(`input[name="preferredContact"][value="${contact.preferredContact}"]`);
    if (radio) radio.checked = true;
    applyVisibility();
    const index = activeSteps().findIndex((step) => step.id === draft.step);
    goToStep(index < 0 ? 0 : index);
    focusStep();
    return true;
  }
  /* eslint-enable no-undef */

  return { save, restore };
})();
