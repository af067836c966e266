// The reference job-posting wizard: the flow a web app builds on this API, in plain JavaScript.
//
//   1. `categories`                         -> category, subcategory and service pickers
//   2. `wizardQuestions(categories: [...])` -> the service's description and its steps, shown
//                                              one at a time; questions appear and disappear
//                                              as answers change (`showIf`)
//   3. `publishJob(input: {...})`           -> the job, or per-field errors shown by their fields;
//                                              then a summary of what was sent
//
// Only the public GraphQL API is used, exactly as any client would use it. Who is calling goes
// in `Authorization: Bearer`: an API key typed into the page, else the signed-in customer's
// access token (account.js and the bundled auth.js) on the calls that act for them.
//
// The wizard is a list of steps. A step is an object { id, title, section, isEmpty() } built by
// a function; the question steps come from `wizardQuestions.steps` (questionSteps), and another
// kind of step (a location or photos step, say) is one more builder whose result is added to
// the list in buildSteps(). Navigation, progress and error placement work on any step.
'use strict';

const ENDPOINT = '/graphql';

const CATALOGUE_QUERY = `
  query WizardCatalogue {
    categories {
      slug
      name
      subcategories {
        slug
        name
        microServices { slug name }
      }
    }
  }`;

const QUESTIONS_QUERY = `
  query WizardQuestions($path: [String!]!) {
    wizardQuestions(categories: $path) {
      microId
      microUuid
      name
      description
      # The page names questions and steps by key, as answers, showIf and questionIds do.
      steps { id: key title questionIds }
      questions {
        id: key
        label
        type
        required
        options { value label }
        min
        max
        unit
        showIf { questionId values }
        allowNotSure
        help
        placeholder
      }
    }
  }`;

const PUBLISH_MUTATION = `
  mutation PublishJob($input: PublishJobInput!) {
    publishJob(input: $input) {
      job { id microId microUuid status createdAt location { postcode district area } }
    }
  }`;

// Selects with this many options or fewer are shown as radio buttons: one click, all visible.
const MAX_RADIO_OPTIONS = 4;
// The answer a question with `allowNotSure` accepts in place of a value, whatever its type.
const NOT_SURE = 'not_sure';

const $ = (id) => document.getElementById(id);

const state = {
  categories: [],
  wizard: null, // the current wizardQuestions answer
  questionsById: new Map(),
  steps: [], // the wizard's steps, in order (see buildSteps)
  current: 0, // index into activeSteps()...
  currentStep: null, // ...and the step shown
  lastPayload: null, // JSON of the last publishJob input sent...
  lastKey: null, // ...and its idempotency key: a retry of the same input reuses it
};

// ---------------------------------------------------------------------------------------------
// Talking to the API

/** A GraphQL error the page can show: its message, code and per-field messages. */
class ApiError extends Error {
  constructor(message, code, fields) {
    super(message);
    this.code = code;
    this.fields = fields || {};
  }
}

/**
 * What to send as `Authorization: Bearer`: an API key typed into the page wins (partners test
 * the page with one); otherwise, on calls that act for someone (`identify`), the signed-in
 * customer's access token. Catalogue reads go without the token: they are the same for
 * everyone, and an anonymous answer is one a shared cache may keep.
 */
async function bearer({ identify = false } = {}) {
  const key = $('api-key').value.trim();
  if (key) return key;
  if (identify && window.PostAuth) return PostAuth.accessToken();
  return '';
}

/** POST one operation; return `data`, or throw an ApiError built from the first error. */
async function graphql(query, variables, { identify = false } = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const credential = await bearer({ identify });
  if (credential) headers.Authorization = `Bearer ${credential}`;

  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new ApiError(`The server could not be reached (${err.message}).`, 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without JSON.`, 'HTTP');
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const extensions = first.extensions || {};
    throw new ApiError(first.message, extensions.code, extensions.fields);
  }
  if (!response.ok || !body.data) {
    throw new ApiError(`The server answered ${response.status}.`, 'HTTP');
  }
  return body.data;
}

/** An answer as words: option labels, Yes/No, "Not sure", a number with its unit. */
function answerText(question, value) {
  if (value === NOT_SURE) return 'Not sure';
  if (!question) return Array.isArray(value) ? value.join(', ') : String(value);
  const label = (v) => {
    const option = (question.options || []).find((o) => o.value === String(v));
    return option ? option.label : String(v);
  };
  if (Array.isArray(value)) return value.map(label).join(', ');
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (question.type === 'NUMBER' && question.unit) return `${value} ${question.unit}`;
  return label(value);
}

/** An idempotency key; crypto.randomUUID exists only on https and localhost pages. */
function newIdempotencyKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------
// Choosing the service: category -> subcategory -> micro service

function fillSelect(select, items, placeholder) {
  select.replaceChildren(new Option(placeholder, ''));
  for (const item of items) select.add(new Option(item.name, item.slug));
  select.disabled = items.length === 0;
}

function selectedCategory() {
  return state.categories.find((c) => c.slug === $('category').value);
}

function selectedSubcategory() {
  const category = selectedCategory();
  return category && category.subcategories.find((s) => s.slug === $('subcategory').value);
}

async function loadCatalogue() {
  try {
    const data = await graphql(CATALOGUE_QUERY, {});
    state.categories = data.categories;
    fillSelect($('category'), state.categories, 'Choose a category…');
  } catch (err) {
    showFormError(err);
  }
}

function onCategoryChange() {
  const category = selectedCategory();
  fillSelect($('subcategory'), category ? category.subcategories : [], 'Choose…');
  fillSelect($('micro-service'), [], '');
  hideWizard();
}

function onSubcategoryChange() {
  const subcategory = selectedSubcategory();
  fillSelect($('micro-service'), subcategory ? subcategory.microServices : [], 'Choose…');
  hideWizard();
}

async function onMicroServiceChange() {
  hideWizard();
  const slug = $('micro-service').value;
  if (!slug) return;
  // The selection path, as wizardQuestions takes it: the last element is the service's slug.
  const path = [$('category').value, $('subcategory').value, slug];
  try {
    const data = await graphql(QUESTIONS_QUERY, { path });
    showWizard(data.wizardQuestions);
  } catch (err) {
    showFormError(err);
  }
}

// ---------------------------------------------------------------------------------------------
// The steps

function showWizard(wizard) {
  state.wizard = wizard;
  state.questionsById = new Map(wizard.questions.map((q) => [q.id, q]));
  $('service-name').textContent = wizard.name;
  $('service-description').textContent = wizard.description || '';
  $('service-description').hidden = !wizard.description;
  state.steps = buildSteps(wizard);
  $('steps').replaceChildren(...state.steps.map((step) => step.section));
  applyVisibility();
  $('questions-form').hidden = false;
  goToStep(0);
}

/** Every step of the wizard, in order. Add a builder here to add a kind of step. */
function buildSteps(wizard) {
  return [...questionSteps(wizard)];
}

/** One step per `wizardQuestions.steps` entry, holding its questions' fields. */
function questionSteps(wizard) {
  return wizard.steps.map((step) => {
    const questions = step.questionIds.map((id) => state.questionsById.get(id)).filter(Boolean);
    const section = el('section', { class: 'wizard-step', id: `step-${step.id}` });
    section.dataset.stepId = step.id;
    section.append(el('h3', {}, step.title), ...questions.map(renderQuestion));
    return {
      id: step.id,
      title: step.title,
      section,
      // A step whose questions are all hidden by the answers so far is skipped.
      isEmpty: () => questions.every((q) => !isShown(q, currentAnswers())),
    };
  });
}

/** The steps a customer walks through now: those with something to ask. */
function activeSteps() {
  return state.steps.filter((step) => !step.isEmpty());
}

function goToStep(index) {
  const steps = activeSteps();
  state.current = Math.max(0, Math.min(index, steps.length - 1));
  const shown = steps[state.current];
  state.currentStep = shown;
  for (const step of state.steps) step.section.hidden = step !== shown;
  renderProgress(steps);
  const last = state.current === steps.length - 1;
  $('back').hidden = state.current === 0;
  $('next').hidden = last;
  $('publish').hidden = !last;
}

function renderProgress(steps) {
  const current = steps[state.current];
  $('progress-text').textContent = `Step ${state.current + 1} of ${steps.length}: ${current.title}`;
  const bar = $('progress-bar');
  bar.max = steps.length;
  bar.value = state.current + 1;
  $('progress-steps').replaceChildren(
    ...steps.map((step, i) => {
      const item = el('li', {}, step.title);
      if (i === state.current) item.setAttribute('aria-current', 'step');
      if (i < state.current) item.classList.add('done');
      return item;
    }),
  );
}

function onNext() {
  goToStep(state.current + 1);
  focusStep();
}

function onBack() {
  goToStep(state.current - 1);
  focusStep();
}

/** After Next or Back the step's heading takes the focus, so a screen reader starts there. */
function focusStep() {
  const heading = state.currentStep && state.currentStep.section.querySelector('h3');
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
  $('questions-form').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// ---------------------------------------------------------------------------------------------
// Branching: a question is shown only when each of its conditions holds

/** The answer as the strings a condition lists: booleans as "true"/"false", a list by item. */
function conditionValues(answer) {
  if (answer === undefined || answer === null) return [];
  if (Array.isArray(answer)) return answer.map(String);
  return [String(answer)];
}

/** Mirrors the server: every condition's question is shown and answered with a listed value. */
function isShown(question, answers) {
  return (question.showIf || []).every((condition) => {
    const parent = state.questionsById.get(condition.questionId);
    if (parent && !isShown(parent, answers)) return false;
    return conditionValues(answers[condition.questionId]).some((v) => condition.values.includes(v));
  });
}

function applyVisibility() {
  const answers = currentAnswers();
  for (const question of state.wizard.questions) {
    const field = $(`field-${question.id}`);
    if (field) field.hidden = !isShown(question, answers);
  }
}

function onAnswerChange(event) {
  const field = event.target.closest('.field');
  if (field) syncNotSure(field, event.target);
  applyVisibility();
  // A later step may have emptied or filled: stay on this step and refresh the progress.
  const index = activeSteps().indexOf(state.currentStep);
  goToStep(index >= 0 ? index : state.current);
}

// ---------------------------------------------------------------------------------------------
// One field per question, matching its type, options, bounds and required flag

function renderQuestion(question) {
  const field = el('div', { class: 'field', id: `field-${question.id}` });
  field.dataset.type = question.type;
  const inputId = `q-${question.id}`;
  const grouped = ['MULTI_SELECT', 'BOOLEAN'].includes(question.type) || isRadioSelect(question);

  // A group of radios or checkboxes is labelled by a legend; a single input by its label.
  const wrapper = grouped ? el('fieldset') : field;
  const caption = el(grouped ? 'legend' : 'label', grouped ? {} : { for: inputId });
  caption.append(question.label);
  if (question.required) caption.append(el('span', { class: 'required', title: 'required' }, ' *'));
  wrapper.append(caption);
  if (question.help) wrapper.append(el('p', { class: 'help' }, question.help));
  wrapper.append(renderInput(question, inputId));
  if (question.allowNotSure && !notSureIsAChoice(question)) {
    wrapper.append(notSureBox(question));
  }

  const hint = hintFor(question);
  if (hint) wrapper.append(el('p', { class: 'hint' }, hint));
  if (grouped) field.append(wrapper);
  // Where publishJob's extensions.fields message for this question is shown.
  field.append(el('p', { class: 'field-error', id: `error-${question.id}`, role: 'alert' }));
  return field;
}

function isRadioSelect(question) {
  return question.type === 'SINGLE_SELECT' && selectOptions(question).length <= MAX_RADIO_OPTIONS;
}

/** Selects and yes/no take "Not sure" as one more choice; other inputs get a checkbox. */
function notSureIsAChoice(question) {
  return ['SINGLE_SELECT', 'BOOLEAN'].includes(question.type);
}

function selectOptions(question) {
  const options = [...question.options];
  const offered = options.some((o) => o.value === NOT_SURE);
  if (question.allowNotSure && !offered) options.push({ value: NOT_SURE, label: 'Not sure' });
  return options;
}

function renderInput(question, inputId) {
  const required = question.required;
  switch (question.type) {
    case 'SINGLE_SELECT':
      if (isRadioSelect(question)) return choices(question, 'radio', selectOptions(question));
      return selectFor(question, inputId);
    case 'MULTI_SELECT':
      return choices(question, 'checkbox', question.options);
    case 'BOOLEAN': {
      // Radios, not a checkbox: "not answered" must stay distinguishable from "no".
      const options = [
        { value: 'true', label: 'Yes' },
        { value: 'false', label: 'No' },
      ];
      if (question.allowNotSure) options.push({ value: NOT_SURE, label: 'Not sure' });
      return choices(question, 'radio', options);
    }
    case 'NUMBER': {
      const input = el('input', { type: 'number', id: inputId, name: question.id, step: 'any' });
      if (question.min !== null) input.min = question.min;
      if (question.max !== null) input.max = question.max;
      if (question.placeholder) input.placeholder = question.placeholder;
      input.required = required;
      return question.unit ? el('span', { class: 'with-unit' }, input, ` ${question.unit}`) : input;
    }
    case 'DATE': {
      const input = el('input', { type: 'date', id: inputId, name: question.id });
      input.required = required;
      return input;
    }
    case 'TEXT':
    default: {
      // For text, max and min are lengths in characters.
      const long = question.max === null || question.max > 200;
      const input = el(long ? 'textarea' : 'input', { id: inputId, name: question.id });
      if (!long) input.type = 'text';
      if (long) input.rows = 3;
      if (question.max !== null) input.maxLength = question.max;
      if (question.min !== null) input.minLength = question.min;
      if (question.placeholder) input.placeholder = question.placeholder;
      input.required = required;
      return input;
    }
  }
}

function selectFor(question, inputId) {
  const select = el('select', { id: inputId, name: question.id });
  select.add(new Option(question.required ? 'Choose…' : '(no answer)', ''));
  for (const option of selectOptions(question)) select.add(new Option(option.label, option.value));
  select.required = question.required;
  return select;
}

function choices(question, type, options) {
  const group = el('div', { class: `choices ${type}` });
  for (const option of options) {
    const input = el('input', { type, name: question.id, value: option.value });
    group.append(el('label', { class: 'choice' }, input, ` ${option.label}`));
  }
  return group;
}

/** "Not sure" for a number, text or date: ticking it clears and disables the input. */
function notSureBox(question) {
  const box = el('input', { type: 'checkbox', id: `not-sure-${question.id}`, value: NOT_SURE });
  box.dataset.notSureFor = question.id;
  return el('label', { class: 'choice not-sure' }, box, ' Not sure');
}

function syncNotSure(field, target) {
  const box = field.querySelector('input[data-not-sure-for]');
  if (!box || target !== box) return;
  const input = field.querySelector('input:not([data-not-sure-for]), textarea');
  if (!input) return;
  if (box.checked) input.value = '';
  input.disabled = box.checked;
}

function hintFor(question) {
  const unit = question.unit ? ` ${question.unit}` : '';
  if (question.type === 'NUMBER' && question.min !== null && question.max !== null) {
    return `Between ${question.min} and ${question.max}${unit}.`;
  }
  if (question.type === 'NUMBER' && question.min !== null) return `At least ${question.min}${unit}.`;
  if (question.type === 'NUMBER' && question.max !== null) return `At most ${question.max}${unit}.`;
  if (question.type === 'TEXT' && question.max !== null) {
    return `Up to ${question.max} characters.`;
  }
  if (question.type === 'MULTI_SELECT') return 'Choose all that apply.';
  return '';
}

/** Every answer given so far, hidden questions included (isShown decides what counts). */
function currentAnswers() {
  const answers = {};
  if (!state.wizard) return answers;
  for (const question of state.wizard.questions) {
    const value = readAnswer(question);
    if (value !== undefined) answers[question.id] = value;
  }
  return answers;
}

/** One question's answer from its field, as publishJob takes it; undefined when unanswered. */
function readAnswer(question) {
  const form = $('questions-form');
  const name = question.id;
  const notSure = $(`not-sure-${name}`);
  if (notSure && notSure.checked) return NOT_SURE;
  const checked = () => form.querySelector(`input[name="${name}"]:checked`);
  switch (question.type) {
    case 'MULTI_SELECT': {
      const values = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
      return values.length ? values : undefined;
    }
    case 'BOOLEAN': {
      const input = checked();
      if (!input) return undefined;
      return input.value === NOT_SURE ? NOT_SURE : input.value === 'true';
    }
    case 'NUMBER': {
      const raw = form.elements[name].value.trim();
      return raw === '' ? undefined : Number(raw);
    }
    case 'SINGLE_SELECT':
      if (isRadioSelect(question)) {
        const input = checked();
        return input ? input.value : undefined;
      }
    // falls through: a <select> reads like a text input
    default: {
      const raw = form.elements[name].value;
      return raw.trim() === '' ? undefined : raw;
    }
  }
}

/** The answers object publishJob takes: only questions shown now, unanswered ones left out. */
function collectAnswers(questions) {
  const all = currentAnswers();
  const answers = {};
  for (const question of questions) {
    if (question.id in all && isShown(question, all)) answers[question.id] = all[question.id];
  }
  return answers;
}

// ---------------------------------------------------------------------------------------------
// publishJob, and its errors next to their fields

async function onSubmit(event) {
  event.preventDefault();
  // Enter in a field before the last step moves on rather than publishing half a job.
  if (state.current < activeSteps().length - 1) {
    onNext();
    return;
  }
  // The form is `novalidate`: the server's rules are the ones that count, and this page shows
  // how to display them. (A production app may check min/max/required up front as well.)
  clearErrors();
  const wizard = state.wizard;
  const input = { microId: wizard.microId, answers: collectAnswers(wizard.questions) };
  // microUuid is null only while the server's lookup is degraded; the job is then slug-only.
  if (wizard.microUuid) input.microUuid = wizard.microUuid;
  // The customer's own words and how to reach them (details.js), part of the job like its
  // answers: a change there is a different job, with an idempotency key of its own.
  if (window.JobDetails) Object.assign(input, JobDetails.input());

  const payload = JSON.stringify(input);
  if (payload !== state.lastPayload) {
    state.lastPayload = payload;
    state.lastKey = newIdempotencyKey();
  }
  input.idempotencyKey = state.lastKey;

  const button = $('publish');
  button.disabled = true;
  button.textContent = 'Publishing…';
  try {
    const data = await graphql(PUBLISH_MUTATION, { input }, { identify: true });
    showResult(data.publishJob.job, input);
  } catch (err) {
    showFormError(err);
  } finally {
    button.disabled = false;
    button.textContent = 'Publish job';
  }
}

/** The confirmation: what was sent, in the customer's words, and what happens next. */
function showResult(job, input) {
  const result = $('result');
  // For a page that wants to link to the job (My jobs opens it by id); never shown.
  result.dataset.jobId = job.id;
  const rows = [['Service', state.wizard.name]];
  const where = job.location || (input.location || null);
  if (where) {
    const area = where.district ? ` (${where.district})` : '';
    rows.push(['Where', `${where.postcode}${area}`]);
  }
  if (input.location && input.location.addressLine) rows.push(['Address', input.location.addressLine]);
  for (const [id, value] of Object.entries(input.answers)) {
    const question = state.questionsById.get(id);
    rows.push([question ? question.label : id, answerText(question, value)]);
  }
  const photos = (input.photoIds || []).length;
  if (photos) rows.push(['Photos', `${photos} photo${photos === 1 ? '' : 's'}`]);
  if (input.description) rows.push(['Anything else', input.description]);
  const contact = input.contact;
  if (contact) {
    rows.push(['Your name', contact.name]);
    rows.push(['Email', contact.email]);
    if (contact.phone) rows.push(['Phone', contact.phone]);
    rows.push(['Contact me by', CONTACT_METHODS[contact.preferredContact] || CONTACT_METHODS.ANY]);
  }
  $('result-summary').replaceChildren(...rows.flatMap(([term, text]) => [el('dt', {}, term), el('dd', {}, text)]));

  const next = [
    `Your job is open now: tradespeople who do ${state.wizard.name.toLowerCase()} near you can see it.`,
  ];
  if (contact) {
    const how = { EMAIL: 'by email', PHONE: 'by phone' }[contact.preferredContact] || 'by email or phone';
    next.push(`Those interested get in touch ${how}, using the details you gave; they are never shown in listings.`);
  }
  next.push('You can change an answer or cancel the job at any time from My jobs.');
  next.push('If nothing more happens, the job closes on its own after a while.');
  $('result-next').replaceChildren(...next.map((line) => el('li', {}, line)));

  $('questions-form').hidden = true;
  $('step-service').hidden = true;
  result.hidden = false;
  $('result-title').focus({ preventScroll: true });
  result.scrollIntoView({ behavior: 'smooth' });
}

/** preferredContact as the customer chose it. */
const CONTACT_METHODS = { EMAIL: 'Email', PHONE: 'Phone', ANY: 'Email or phone' };

function showFormError(err) {
  const box = $('form-error');
  const unplaced = [];
  let firstStep = null;
  for (const [questionId, message] of Object.entries(err.fields || {})) {
    const slot = $(`error-${questionId}`);
    if (slot) {
      slot.textContent = message;
      markInvalid(slot);
      const section = slot.closest('.wizard-step');
      const index = activeSteps().findIndex((step) => step.section === section);
      if (index >= 0 && (firstStep === null || index < firstStep)) firstStep = index;
    } else {
      unplaced.push(`${questionId}: ${message}`);
    }
  }
  // The first step holding a faulty answer is brought up, so its message is seen by its field.
  if (firstStep !== null) goToStep(firstStep);
  let text = err.message;
  if (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') {
    if (window.PostAuth && PostAuth.signedIn && !$('api-key').value.trim()) {
      text += ' Your sign-in may have ended: sign out, then sign in again.';
    } else if (window.PostAuth && PostAuth.available) {
      text += ' Sign in above to publish (or, testing as a partner, enter an API key with jobs:write).';
    } else {
      text += ' Enter an API key above (with the jobs:write scope to publish).';
    }
    if (!(window.PostAuth && PostAuth.available)) $('api-key-box').open = true;
  }
  box.replaceChildren(el('strong', {}, text));
  if (unplaced.length) box.append(el('ul', {}, ...unplaced.map((line) => el('li', {}, line))));
  box.hidden = false;
  const firstInvalid = document.querySelector('.wizard-step:not([hidden]) .field.invalid');
  (firstInvalid || box).scrollIntoView({ behavior: 'smooth', block: 'center' });
  const firstInput = firstInvalid && firstInvalid.querySelector('[aria-invalid="true"]');
  if (firstInput) firstInput.focus({ preventScroll: true });
}

/** Marks the inputs of the field holding `slot` invalid and ties the message to them. */
function markInvalid(slot) {
  const field = slot.closest('.field');
  field.classList.add('invalid');
  for (const input of field.querySelectorAll('input, select, textarea')) {
    input.setAttribute('aria-invalid', 'true');
    const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(slot.id)) input.setAttribute('aria-describedby', [...described, slot.id].join(' '));
  }
}

function clearErrors() {
  $('form-error').hidden = true;
  for (const slot of document.querySelectorAll('.field-error')) slot.textContent = '';
  for (const field of document.querySelectorAll('.field.invalid')) {
    field.classList.remove('invalid');
  }
  for (const input of document.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute('aria-invalid');
  }
}

function hideWizard() {
  state.wizard = null;
  state.steps = [];
  clearErrors();
  $('questions-form').hidden = true;
  $('steps').replaceChildren();
}

function startOver() {
  $('result').hidden = true;
  $('step-service').hidden = false;
  $('category').value = '';
  onCategoryChange();
  window.scrollTo({ top: 0 });
  $('service-search').focus();
}

// ---------------------------------------------------------------------------------------------

/** document.createElement with attributes and children, to keep the rendering code short. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function rememberApiKey() {
  // sessionStorage: the key survives a reload of this tab, never the closing of the browser.
  const input = $('api-key');
  input.value = sessionStorage.getItem('jobwizard.apiKey') || '';
  if (input.value) $('api-key-box').open = true;
  input.addEventListener('change', () => sessionStorage.setItem('jobwizard.apiKey', input.value));
  $('api-key-form').addEventListener('submit', (event) => event.preventDefault());
}

document.addEventListener('DOMContentLoaded', () => {
  rememberApiKey();
  $('category').addEventListener('change', onCategoryChange);
  $('subcategory').addEventListener('change', onSubcategoryChange);
  $('micro-service').addEventListener('change', onMicroServiceChange);
  $('questions-form').addEventListener('submit', onSubmit);
  $('questions-form').addEventListener('change', onAnswerChange);
  $('questions-form').addEventListener('input', onAnswerChange);
  $('next').addEventListener('click', onNext);
  $('back').addEventListener('click', onBack);
  $('post-another').addEventListener('click', startOver);
  loadCatalogue();
});
