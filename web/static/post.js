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

// Selects with this many options or fewer are shown as large choices: one tap, all visible.
const MAX_RADIO_OPTIONS = 8;
// A step asking more questions than this is shown one question a screen: on a phone a longer
// screen scrolls, and the Next button and the messages slide out of sight.
const MAX_QUESTIONS_PER_SCREEN = 2;
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
  path: null, // the chosen service's [category, subcategory, service] slugs
  switchConfirmed: null, // the slug the customer agreed to switch to
  words: '', // what the customer typed into the search box, carried into the description
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

// Changing the category or subcategory only narrows the lists: the wizard on screen (and what
// was typed into it) stays until another service is actually chosen.
function onCategoryChange() {
  const category = selectedCategory();
  fillSelect($('subcategory'), category ? category.subcategories : [], 'Choose…');
  fillSelect($('micro-service'), [], '');
}

function onSubcategoryChange() {
  const subcategory = selectedSubcategory();
  fillSelect($('micro-service'), subcategory ? subcategory.microServices : [], 'Choose…');
}

/** The lists back at the service the wizard shows (after "Keep my job"). */
function restorePickers() {
  const [category, subcategory, slug] = state.path || ['', '', ''];
  $('category').value = category;
  onCategoryChange();
  $('subcategory').value = subcategory;
  onSubcategoryChange();
  $('micro-service').value = slug;
}

async function onMicroServiceChange() {
  const slug = $('micro-service').value;
  if (!slug || (state.wizard && state.wizard.microId === slug)) return;
  // A pick from the search box has asked already (search.js calls confirmSwitch first).
  if (state.switchConfirmed !== slug) {
    const name = $('micro-service').selectedOptions[0].textContent;
    if (!(await confirmSwitch({ slug, name }))) {
      restorePickers();
      return;
    }
  }
  state.switchConfirmed = null;
  // The selection path, as wizardQuestions takes it: the last element is the service's slug.
  const path = [$('category').value, $('subcategory').value, slug];
  const carried = state.wizard ? currentAnswers() : {};
  try {
    const data = await graphql(QUESTIONS_QUERY, { path });
    showWizard(data.wizardQuestions, path, carried);
  } catch (err) {
    showFormError(err);
  }
}

/**
 * Before another service replaces the one on screen: the location, photos and details carry
 * over, and so do answers to questions the two services share; answers that may not apply are
 * the customer's to give up, so ask. Resolves true to switch.
 */
async function confirmSwitch(service) {
  const wizard = state.wizard;
  if (!wizard || wizard.microId === service.slug) return true;
  const given = Object.keys(collectAnswers(wizard.questions)).length;
  const dialog = $('switch-dialog');
  if (given === 0 || !dialog || !dialog.showModal) {
    state.switchConfirmed = service.slug;
    return true;
  }
  $('switch-title').textContent = `Switch to ${service.name}?`;
  $('switch-text').textContent =
    `Your postcode, photos and details stay. Of your ${given} answer${given === 1 ? '' : 's'} ` +
    `about ${wizard.name}, only those ${service.name} also asks are kept.`;
  const closed = new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  dialog.returnValue = '';
  dialog.showModal();
  $('switch-keep').focus();
  await closed;
  const yes = dialog.returnValue === 'switch';
  if (yes) state.switchConfirmed = service.slug;
  return yes;
}

// ---------------------------------------------------------------------------------------------
// The steps

function showWizard(wizard, path, carried = {}) {
  state.wizard = wizard;
  state.path = path;
  state.questionsById = new Map(wizard.questions.map((q) => [q.id, q]));
  $('service-name').textContent = wizard.name;
  $('service-description').textContent = wizard.description || '';
  $('service-description').hidden = !wizard.description;
  $('service-chosen').textContent = `Chosen: ${wizard.name}. Its questions are below.`;
  $('service-chosen').hidden = false;
  clearErrors();
  state.steps = [...buildSteps(wizard), reviewStep()];
  $('steps').replaceChildren(...state.steps.map((step) => step.section));
  restoreAnswers(carried);
  applyVisibility();
  $('questions-form').hidden = false;
  $('result').hidden = true;
  goToStep(0);
  // The wizard comes straight under the search box, and the keyboard goes there with the eye.
  focusStep();
}

/** Every step of the wizard, in order. Add a builder here to add a kind of step. */
function buildSteps(wizard) {
  return [...questionSteps(wizard)];
}

/**
 * One screen per `wizardQuestions.steps` entry, or, where a step asks more than
 * MAX_QUESTIONS_PER_SCREEN questions (one would scroll on a phone), one screen per question,
 * each with the follow-up questions that hang on its answer.
 */
function questionSteps(wizard) {
  const screens = [];
  for (const step of wizard.steps) {
    const questions = step.questionIds.map((id) => state.questionsById.get(id)).filter(Boolean);
    const parts = screensOf(questions);
    parts.forEach((part, i) => {
      const id = parts.length > 1 ? `${step.id}-${i + 1}` : step.id;
      const section = el('section', { class: 'wizard-step', id: `step-${id}`, 'aria-labelledby': `title-${id}` });
      section.dataset.stepId = id;
      section.append(el('h3', { id: `title-${id}` }, step.title), ...part.map(renderQuestion));
      screens.push({
        id,
        title: step.title,
        group: step.id,
        section,
        // A screen whose questions are all hidden by the answers so far is skipped.
        isEmpty: () => part.every((q) => !isShown(q, currentAnswers())),
        validate: () => questionProblems(part),
      });
    });
  }
  return screens;
}

function screensOf(questions) {
  const inStep = new Set(questions.map((q) => q.id));
  const parentOf = (q) => (q.showIf || []).map((c) => c.questionId).find((id) => inStep.has(id));
  const rootOf = (q) => {
    const parent = parentOf(q);
    return parent ? rootOf(state.questionsById.get(parent)) : q;
  };
  const roots = questions.filter((q) => !parentOf(q));
  if (roots.length <= MAX_QUESTIONS_PER_SCREEN) return [questions];
  const parts = new Map(roots.map((q) => [q.id, []]));
  for (const question of questions) parts.get(rootOf(question).id).push(question);
  return [...parts.values()];
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
  if (shown.onShow) shown.onShow();
  renderProgress(steps);
  const last = state.current === steps.length - 1;
  $('back').hidden = state.current === 0;
  $('next').hidden = last;
  $('publish').hidden = !last;
  $('required-note').hidden = last;
}

/** Progress by the service's steps ("Step 2 of 8: The job"), and by question inside one. */
function renderProgress(steps) {
  const current = steps[state.current];
  const groups = [...new Set(steps.map((step) => step.group || step.id))];
  const group = current.group || current.id;
  const index = groups.indexOf(group);
  const screens = steps.filter((step) => (step.group || step.id) === group);
  const part = screens.length > 1 ? ` (question ${screens.indexOf(current) + 1} of ${screens.length})` : '';
  $('progress-text').textContent = `Step ${index + 1} of ${groups.length}: ${current.title}${part}`;
  const bar = $('progress-bar');
  bar.max = steps.length;
  bar.value = state.current + 1;
  $('progress-steps').replaceChildren(
    ...groups.map((id, i) => {
      const item = el('li', {}, steps.find((step) => (step.group || step.id) === id).title);
      if (i === index) item.setAttribute('aria-current', 'step');
      if (i < index) item.classList.add('done');
      return item;
    }),
  );
}

function onNext() {
  // Each step is checked before the next: messages at the fields, the focus on the first.
  clearErrors();
  const problems = stepProblems(state.currentStep);
  if (Object.keys(problems).length) {
    showProblems(problems);
    return;
  }
  goToStep(state.current + 1);
  focusStep();
}

function onBack() {
  clearErrors();
  goToStep(state.current - 1);
  focusStep();
}

/** After Next or Back the step's heading takes the focus, so a screen reader starts there. */
function focusStep() {
  const heading = state.currentStep && state.currentStep.section.querySelector('h3');
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
  $('questions-form').scrollIntoView({ block: 'start' });
}

// ---------------------------------------------------------------------------------------------
// Checking a step before moving on (the server checks again at publish: its word counts)

function stepProblems(step) {
  return step && step.validate ? step.validate() : {};
}

function questionProblems(questions) {
  const answers = currentAnswers();
  const found = {};
  for (const question of questions) {
    if (!isShown(question, answers)) continue;
    const problem = answerProblem(question, answers[question.id]);
    if (problem) found[question.id] = problem;
  }
  return found;
}

/** What is wrong with one answer, in plain words, or ''. */
function answerProblem(question, value) {
  const input = $(`q-${question.id}`);
  if (input && input.validity && input.validity.badInput) return 'Enter a number, like 3.';
  if (value === undefined) {
    if (!question.required) return '';
    if (question.type === 'MULTI_SELECT') return 'Choose at least one answer.';
    if (question.type === 'NUMBER') return 'Enter a number to go on.';
    if (question.type === 'DATE') return 'Choose a date to go on.';
    if (question.type === 'TEXT') return 'Write an answer to go on.';
    return 'Choose an answer to go on.';
  }
  if (value === NOT_SURE) return '';
  const unit = question.unit ? ` ${question.unit}` : '';
  if (question.type === 'NUMBER') {
    if (Number.isNaN(value)) return 'Enter a number, like 3.';
    if (question.min !== null && value < question.min) return `Enter at least ${question.min}${unit}.`;
    if (question.max !== null && value > question.max) return `Enter at most ${question.max}${unit}.`;
  }
  if (question.type === 'TEXT') {
    const length = String(value).trim().length;
    if (question.min !== null && length < question.min) return `Write at least ${question.min} characters.`;
    if (question.max !== null && length > question.max) return `Keep it to ${question.max} characters.`;
  }
  return '';
}

/** Messages at their fields (slot `error-<field>`), the first faulty input focused. */
function showProblems(problems) {
  const unplaced = [];
  for (const [name, message] of Object.entries(problems)) {
    const slot = $(`error-${name}`);
    if (slot) {
      slot.textContent = message;
      markInvalid(slot);
    } else {
      unplaced.push(message);
    }
  }
  if (unplaced.length) {
    const box = $('form-error');
    box.replaceChildren(...unplaced.map((line) => el('p', {}, line)));
    box.hidden = false;
  }
  focusFirstInvalid();
}

function focusFirstInvalid() {
  const section = state.currentStep && state.currentStep.section;
  const first = section && section.querySelector('[aria-invalid="true"]:not([disabled])');
  if (first) {
    first.focus({ preventScroll: true });
    (first.closest('.field') || first).scrollIntoView({ block: 'center' });
  } else if (!$('form-error').hidden) {
    $('form-error').focus();
  }
}

// ---------------------------------------------------------------------------------------------
// The last step: everything on one screen to check, each part with a way back to change it

function reviewStep() {
  const section = el('section', { class: 'wizard-step', id: 'step-review', 'aria-labelledby': 'title-review' },
    el('h3', { id: 'title-review' }, 'Check your job'),
    el('p', { class: 'muted' }, 'Tradespeople near you will see this (your contact details go ' +
      'only to those you hear from). Change anything you like, then publish.'),
    el('dl', { class: 'summary review', id: 'review-summary' }),
    el('p', { class: 'notice', id: 'review-sign-in' }));
  return { id: 'review', title: 'Check and publish', group: 'review', section, isEmpty: () => false, onShow: renderReview };
}

function renderReview() {
  const input = jobInput();
  if (window.JobLocation) Object.assign(input, JobLocation.input());
  const rows = summaryRows(input, state.wizard.name);
  const stepOf = (id) => {
    const steps = activeSteps();
    const index = steps.findIndex((step) => step.group === id || step.id === id || step.section.querySelector(`#field-${CSS.escape(id)}`));
    return index;
  };
  $('review-summary').replaceChildren(...rows.flatMap(([term, text, field]) => {
    const dd = el('dd', {}, text);
    const index = field ? stepOf(field) : -1;
    if (index >= 0) {
      const change = el('button', { type: 'button', class: 'link change', 'aria-label': `Change ${term.toLowerCase()}` }, 'Change');
      change.addEventListener('click', () => {
        goToStep(index);
        focusStep();
      });
      dd.append(' ', change);
    }
    return [el('dt', {}, term), dd];
  }));
  const signedIn = window.PostAuth && PostAuth.signedIn;
  $('review-sign-in').textContent = signedIn || $('api-key').value.trim()
    ? ''
    : 'Publishing needs you signed in: use Sign in at the top of the page. What you entered is kept.';
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
  // A message goes once its field is changed; Next checks again.
  // (Only a question's: the postcode and photos fields keep their own messages up to date.)
  const own = field && state.questionsById.has(field.id.replace(/^field-/, ''));
  if (own && field.classList.contains('invalid') && event.type === 'change') clearField(field);
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
  if (question.help) wrapper.append(el('p', { class: 'help', id: `help-${question.id}` }, question.help));
  wrapper.append(renderInput(question, inputId));
  if (question.allowNotSure && !notSureIsAChoice(question)) {
    wrapper.append(notSureBox(question));
  }

  const hint = hintFor(question);
  if (hint) wrapper.append(el('p', { class: 'hint', id: `hint-${question.id}` }, hint));
  if (grouped) field.append(wrapper);
  // Where this page's and publishJob's messages for this question are shown; a message is
  // read out with its input (aria-describedby), as the focus lands there, not as an alert.
  field.append(el('p', { class: 'field-error', id: `error-${question.id}` }));
  const described = [question.help && `help-${question.id}`, hint && `hint-${question.id}`, `error-${question.id}`]
    .filter(Boolean).join(' ');
  for (const input of field.querySelectorAll('input, select, textarea')) {
    input.setAttribute('aria-describedby', described);
  }
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

/** publishJob's input as the wizard stands (location and photos are added by post-location.js). */
function jobInput() {
  const wizard = state.wizard;
  const input = { microId: wizard.microId, answers: collectAnswers(wizard.questions) };
  // microUuid is null only while the server's lookup is degraded; the job is then slug-only.
  if (wizard.microUuid) input.microUuid = wizard.microUuid;
  // The customer's own words and how to reach them (details.js), part of the job like its
  // answers: a change there is a different job, with an idempotency key of its own.
  if (window.JobDetails) Object.assign(input, JobDetails.input());
  return input;
}

async function onSubmit(event) {
  event.preventDefault();
  // Enter in a field before the last step moves on rather than publishing half a job.
  if (state.current < activeSteps().length - 1) {
    onNext();
    return;
  }
  clearErrors();
  // Every step was checked on the way; check them all again (an answer may have been changed
  // from the review) and bring back the first step with a fault.
  const steps = activeSteps();
  for (let i = 0; i < steps.length; i += 1) {
    const problems = stepProblems(steps[i]);
    if (Object.keys(problems).length) {
      goToStep(i);
      showProblems(problems);
      return;
    }
  }
  const input = jobInput();
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

/** The job in words, as [term, text, field or step it came from] rows. */
function summaryRows(input, serviceName, job = null) {
  const rows = [['Service', serviceName, null]];
  const where = (job && job.location) || input.location || null;
  if (where && where.postcode) {
    const area = where.district ? ` (${where.district})` : '';
    rows.push(['Postcode', `${where.postcode.toUpperCase()}${area}`, 'location']);
  }
  if (input.location && input.location.addressLine) rows.push(['Address', input.location.addressLine, 'location']);
  for (const [id, value] of Object.entries(input.answers)) {
    const question = state.questionsById.get(id);
    rows.push([question ? question.label : id, answerText(question, value), id]);
  }
  const photos = (input.photoIds || []).length;
  rows.push(['Photos', photos ? `${photos} photo${photos === 1 ? '' : 's'}` : 'None', 'photos']);
  rows.push(['Your description', input.description || '(none)', 'description']);
  const contact = input.contact;
  if (contact) {
    rows.push(['Your name', contact.name, 'details']);
    rows.push(['Email', contact.email, 'details']);
    if (contact.phone) rows.push(['Phone', contact.phone, 'details']);
    rows.push(['Contact me by', CONTACT_METHODS[contact.preferredContact] || CONTACT_METHODS.ANY, 'details']);
  }
  return rows;
}

/** The confirmation: what was sent, in the customer's words, and what happens next. */
function showResult(job, input) {
  const result = $('result');
  // For a page that wants to link to the job (My jobs opens it by id); never shown.
  result.dataset.jobId = job.id;
  const rows = summaryRows(input, state.wizard.name, job);
  $('result-summary').replaceChildren(...rows.flatMap(([term, text]) => [el('dt', {}, term), el('dd', {}, text)]));
  const contact = input.contact;

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
  result.scrollIntoView({ block: 'start' });
}

/** preferredContact as the customer chose it. */
const CONTACT_METHODS = { EMAIL: 'Email', PHONE: 'Phone', ANY: 'Email or phone' };

// The server's codes in the customer's words; its own message is for developers.
const PLAIN_MESSAGES = {
  NETWORK: 'The job could not be sent: check your connection, then try again.',
  RATE_LIMITED: 'Too many tries in a short time: wait a minute, then try again.',
  SERVICE_UNAVAILABLE: 'The site is busy right now: try again in a minute.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on our side: try again in a minute.',
  HTTP: 'Something went wrong on our side: try again in a minute.',
};

function showFormError(err) {
  const box = $('form-error');
  const unplaced = [];
  let firstStep = null;
  for (const [field, message] of Object.entries(err.fields || {})) {
    const slot = $(`error-${field}`);
    if (slot) {
      slot.textContent = message;
      markInvalid(slot);
      const section = slot.closest('.wizard-step');
      const index = activeSteps().findIndex((step) => step.section === section);
      if (index >= 0 && (firstStep === null || index < firstStep)) firstStep = index;
    } else {
      unplaced.push(message);
    }
  }
  // The first step holding a faulty answer is brought up, its message by its field and the
  // focus on it; the server's summary line (written for developers) is not shown then.
  if (firstStep !== null) {
    goToStep(firstStep);
    if (!unplaced.length) {
      box.hidden = true;
      focusFirstInvalid();
      return;
    }
  }
  let text = PLAIN_MESSAGES[err.code] || (unplaced.length ? 'Something needs another look:' : err.message);
  if (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') {
    const keyed = Boolean($('api-key').value.trim());
    if (keyed) {
      text = 'The API key entered below was refused: check it has the jobs:write scope.';
      $('api-key-box').open = true;
    } else if (window.PostAuth && PostAuth.signedIn) {
      text = 'Your sign-in has ended: sign out, then sign in again to publish.';
    } else {
      text = 'Sign in to publish your job: use Sign in at the top of the page.';
    }
  }
  box.replaceChildren(el('strong', {}, text));
  if (unplaced.length) box.append(el('ul', {}, ...unplaced.map((line) => el('li', {}, line))));
  box.hidden = false;
  box.tabIndex = -1;
  box.scrollIntoView({ block: 'center' });
  box.focus({ preventScroll: true });
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

function clearField(field) {
  field.classList.remove('invalid');
  for (const slot of field.querySelectorAll('.field-error')) slot.textContent = '';
  for (const input of field.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute('aria-invalid');
}

function clearErrors() {
  $('form-error').hidden = true;
  $('form-error').replaceChildren();
  for (const slot of document.querySelectorAll('.field-error')) slot.textContent = '';
  for (const field of document.querySelectorAll('.field.invalid')) {
    field.classList.remove('invalid');
  }
  for (const input of document.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute('aria-invalid');
  }
}

/** Answers carried from the service shown before, into the questions both ask. */
function restoreAnswers(answers) {
  const form = $('questions-form');
  for (const [id, value] of Object.entries(answers)) {
    const question = state.questionsById.get(id);
    if (!question) continue;
    if (value === NOT_SURE && $(`not-sure-${id}`)) {
      $(`not-sure-${id}`).checked = true;
      syncNotSure($(`field-${id}`), $(`not-sure-${id}`));
      continue;
    }
    const values = (Array.isArray(value) ? value : [value]).map(String);
    const boxes = form.querySelectorAll(`input[name="${CSS.escape(id)}"][type="radio"], input[name="${CSS.escape(id)}"][type="checkbox"]`);
    if (boxes.length) {
      for (const box of boxes) box.checked = values.includes(box.value);
    } else if (form.elements[id]) {
      form.elements[id].value = values[0];
    }
  }
}

function hideWizard() {
  state.wizard = null;
  state.path = null;
  state.steps = [];
  clearErrors();
  $('questions-form').hidden = true;
  $('service-chosen').hidden = true;
  $('steps').replaceChildren();
}

function startOver() {
  hideWizard();
  if (window.JobLocation) JobLocation.reset();
  if (window.JobDetails) JobDetails.reset();
  state.words = '';
  $('result').hidden = true;
  $('step-service').hidden = false;
  $('service-search').value = '';
  $('related-services').hidden = true;
  $('category').value = '';
  onCategoryChange();
  window.scrollTo({ top: 0 });
  $('service-search').focus();
}

/** What search.js asks of the wizard: may the choice replace it, and the customer's words. */
window.PostWizard = {
  confirmSwitch,
  carryWords(words) {
    state.words = words || '';
    if (window.JobDetails) JobDetails.carry(state.words);
  },
};

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
  // The skip link lands in the search box itself, ready to type.
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    $('service-search').focus();
  });
  $('back').addEventListener('click', onBack);
  $('post-another').addEventListener('click', startOver);
  loadCatalogue();
});
