// The wizard's last steps, "In your own words" and "Your details": the customer's own words
// (`description`) and how a
// tradesperson reaches them (`contact`), both sent with publishJob. Added to /post the way
// post-location.js adds its steps: by wrapping post.js's buildSteps; post.js reads
// JobDetails.input() when it builds publishJob's input.
//
//   JobDetails.steps()   two steps, { id, title, section, isEmpty(), validate() } each: the
//                        description, then the contact
//   JobDetails.carry(w)  the search box's words into the description (unless edited)
//   JobDetails.input()   { description?, contact? } for publishJob: a customer must give a
//                        contact, an API key may leave it out (the server says which)
//
// The server checks and normalises what counts (email-validator, phonenumbers; phones stored
// as +447700900123); its messages come back in extensions.fields as `contact.name`,
// `contact.email`, `contact.phone` and `description`, and post.js puts each in the slot
// `error-<field>` below its input, tied to it with aria-describedby.
'use strict';

window.JobDetails = (() => {
  const MAX_DESCRIPTION = 2000;
  const METHODS = [
    { value: 'ANY', label: 'Email or phone' },
    { value: 'EMAIL', label: 'Email' },
    { value: 'PHONE', label: 'Phone' },
  ];
  // What the customer typed last, so "Post another job" does not ask for it all again.
  let remembered = null;
  // The step, built once: switching service keeps what was typed here.
  let built = null;
  // The words typed into the search box, which start the description.
  let carried = '';

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  /** One labelled input with its hint and error slot, each tied to it by aria-describedby. */
  function field({ id, name, label, required, hint, control }) {
    const errorId = `error-${name}`;
    const hintId = hint ? `${id}-hint` : null;
    control.id = id;
    control.name = name;
    control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
    if (required) control.required = true;
    const caption = el('label', { for: id }, label);
    if (required) caption.append(el('span', { class: 'required', title: 'required' }, ' *'));
    const box = el('div', { class: 'field', id: `field-${name}` }, caption, control);
    if (hintId) box.append(el('p', { class: 'hint', id: hintId }, hint));
    box.append(el('p', { class: 'field-error', id: errorId }));
    return box;
  }

  function count() {
    const used = $('description').value.length;
    $('description-hint').textContent = `${used.toLocaleString('en-GB')} of ${MAX_DESCRIPTION.toLocaleString('en-GB')} characters.`;
  }

  /** The search box's words into the description, unless the customer has written their own. */
  function carry(words) {
    const text = $('description');
    if (text && (text.value.trim() === '' || text.value === carried)) {
      text.value = words;
      count();
    }
    carried = words;
  }

  /** What stops this step, by field, in plain words ({} when nothing does). */
  function validate() {
    const found = {};
    const name = $('contact-name').value.trim();
    const email = $('contact-email').value.trim();
    const phone = $('contact-phone').value.trim();
    // A partner's API key may publish without a contact; a customer gives one.
    const keyed = $('api-key') && $('api-key').value.trim();
    const optional = keyed && !name && !email && !phone;
    if (!optional) {
      if (!name) found['contact.name'] = 'Enter your name, so the tradesperson knows who to ask for.';
      if (!email) found['contact.email'] = 'Enter your email address, like name@example.com.';
      else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        found['contact.email'] = 'Enter an email address like name@example.com.';
      }
    }
    if (phone && !/^[+()0-9 .-]{7,}$/.test(phone)) {
      found['contact.phone'] = 'Enter a phone number in digits, like 07700 900123.';
    }
    const chosen = document.querySelector('input[name="preferredContact"]:checked');
    if (chosen && chosen.value === 'PHONE' && !phone) {
      found['contact.phone'] = 'Enter a phone number, or choose to be contacted by email.';
    }
    if ($('description').value.length > MAX_DESCRIPTION) {
      found.description = `Keep it to ${MAX_DESCRIPTION.toLocaleString('en-GB')} characters.`;
    }
    return found;
  }

  function reset() {
    built = null;
    carried = '';
  }

  function descriptionField() {
    const text = el('textarea', { rows: '4', maxlength: String(MAX_DESCRIPTION) });
    const box = field({
      id: 'description',
      name: 'description',
      label: 'The job in your own words',
      hint: `0 of ${MAX_DESCRIPTION.toLocaleString('en-GB')} characters.`,
      control: text,
    });
    const help = el('p', { class: 'help', id: 'description-help' },
      'Anything else the tradesperson should know. It starts with what you typed in the search box: change it as you like.');
    box.querySelector('label').after(help);
    text.setAttribute('aria-describedby', `description-help ${text.getAttribute('aria-describedby')}`);
    text.addEventListener('input', count);
    return box;
  }

  function preferredField() {
    const choices = el('div', { class: 'choices radio' });
    for (const method of METHODS) {
      const input = el('input', { type: 'radio', name: 'preferredContact', value: method.value });
      if (method.value === 'ANY') input.checked = true;
      choices.append(el('label', { class: 'choice' }, input, ` ${method.label}`));
    }
    return el('div', { class: 'field', id: 'field-contact.preferredContact' },
      el('fieldset', {}, el('legend', {}, 'How would you like to be contacted?'), choices),
      el('p', { class: 'field-error', id: 'error-contact.preferredContact' }));
  }

  function contactFields() {
    const input = (attributes) => el('input', attributes);
    return el('fieldset', { class: 'contact', id: 'field-contact' },
      el('legend', {}, 'How can tradespeople reach you?'),
      el('p', { class: 'help', id: 'contact-help' },
        'Used only to put you in touch about this job: never shown in listings, and deleted ' +
        'a while after the job is over.'),
      field({ id: 'contact-name', name: 'contact.name', label: 'Your name', required: true,
        control: input({ type: 'text', autocomplete: 'name', maxlength: '200' }) }),
      field({ id: 'contact-email', name: 'contact.email', label: 'Email', required: true,
        control: input({ type: 'email', autocomplete: 'email', maxlength: '320', spellcheck: 'false' }) }),
      field({ id: 'contact-phone', name: 'contact.phone', label: 'Phone (optional)',
        hint: 'A UK number, e.g. 07700 900123, or with its country code.',
        control: input({ type: 'tel', autocomplete: 'tel', maxlength: '40' }) }),
      preferredField(),
      // A message about the contact as a whole ("contact details are required") lands here.
      el('div', { class: 'field' }, el('p', { class: 'field-error', id: 'error-contact' })));
  }

  /** Two steps: the job in the customer's words, then how to reach them. */
  function steps() {
    if (built) return built;
    const describe = el('section', { class: 'wizard-step', id: 'step-description', 'aria-labelledby': 'title-description' },
      el('h3', { id: 'title-description' }, 'In your own words'), descriptionField());
    describe.dataset.stepId = 'description';
    const section = el('section', { class: 'wizard-step', id: 'step-details', 'aria-labelledby': 'title-details' },
      el('h3', { id: 'title-details' }, 'Your details'), contactFields());
    section.dataset.stepId = 'details';
    prefill(section);
    const text = describe.querySelector('#description');
    if (carried) text.value = carried;
    describe.querySelector('#description-hint').textContent =
      `${text.value.length.toLocaleString('en-GB')} of ${MAX_DESCRIPTION.toLocaleString('en-GB')} characters.`;
    const only = (name) => () => Object.fromEntries(
      Object.entries(validate()).filter(([field]) => (field === 'description') === (name === 'description')));
    built = [
      { id: 'description', title: 'In your own words', section: describe, isEmpty: () => false, validate: only('description') },
      { id: 'details', title: 'Your details', section, isEmpty: () => false, validate: only('contact') },
    ];
    return built;
  }

  /** What the customer typed last in this tab, else the name and email their sign-in gave. */
  function prefill(section) {
    const from = remembered || (window.PostAuth ? PostAuth.profile() : {});
    const set = (selector, value) => {
      const input = section.querySelector(selector);
      if (input && value) input.value = value;
    };
    set('#contact-name', from.name);
    set('#contact-email', from.email);
    set('#contact-phone', from.phone);
    if (from.preferredContact) {
      const radio = section.querySelector(`input[name="preferredContact"][value="${from.preferredContact}"]`);
      if (radio) radio.checked = true;
    }
  }

  function input() {
    if (!$('step-details')) return {};
    const out = {};
    const description = $('description').value.trim();
    if (description) out.description = description;
    const name = $('contact-name').value.trim();
    const email = $('contact-email').value.trim();
    const phone = $('contact-phone').value.trim();
    const chosen = document.querySelector('input[name="preferredContact"]:checked');
    const preferredContact = chosen ? chosen.value : 'ANY';
    // Nothing typed: no contact at all, rather than one the server would refuse field by field.
    if (name || email || phone) {
      out.contact = { name, email, preferredContact };
      if (phone) out.contact.phone = phone;
      remembered = { name, email, phone, preferredContact };
    }
    return out;
  }

  return { steps, input, carry, reset, MAX_DESCRIPTION };
})();

(function () {
  /* eslint-disable no-undef, no-global-assign -- post.js's page-level function, wrapped */
  const stepsBefore = buildSteps;
  buildSteps = function (wizard) {
    return [...stepsBefore(wizard), ...JobDetails.steps()];
  };
  /* eslint-enable no-undef, no-global-assign */
})();
