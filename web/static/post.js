// The reference job-posting wizard: the flow a web app builds on this API, in plain JavaScript.
//
//   1. `categories`                      -> category, subcategory and service pickers
//   2. `wizardQuestions(categories: [...])` -> one input per question, matching its type
//   3. `publishJob(input: {...})`        -> the job, or per-field errors shown by their fields
//
// Only the public GraphQL API is used, exactly as any client would use it.
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
      questions {
        id
        label
        type
        required
        options { value label }
        min
        max
        unit
      }
    }
  }`;

const PUBLISH_MUTATION = `
  mutation PublishJob($input: PublishJobInput!) {
    publishJob(input: $input) {
      job { id microId microUuid status createdAt }
    }
  }`;

// Selects with this many options or fewer are shown as radio buttons: one click, all visible.
const MAX_RADIO_OPTIONS = 4;

const $ = (id) => document.getElementById(id);

const state = {
  categories: [],
  wizard: null, // the current wizardQuestions answer
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

/** POST one operation; return `data`, or throw an ApiError built from the first error. */
async function graphql(query, variables) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const key = $('api-key').value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;

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

/** An idempotency key; crypto.randomUUID exists only on https and localhost pages. */
function newIdempotencyKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------
// Step 1: category -> subcategory -> micro service

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
  hideQuestions();
}

function onSubcategoryChange() {
  const subcategory = selectedSubcategory();
  fillSelect($('micro-service'), subcategory ? subcategory.microServices : [], 'Choose…');
  hideQuestions();
}

async function onMicroServiceChange() {
  hideQuestions();
  const slug = $('micro-service').value;
  if (!slug) return;
  // The selection path, as wizardQuestions takes it: the last element is the service's slug.
  const path = [$('category').value, $('subcategory').value, slug];
  try {
    const data = await graphql(QUESTIONS_QUERY, { path });
    state.wizard = data.wizardQuestions;
    renderQuestions(state.wizard);
  } catch (err) {
    showFormError(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Step 2: one input per question, matching its type, options, bounds and required flag

function renderQuestions(wizard) {
  const container = $('questions');
  container.replaceChildren(...wizard.questions.map(renderQuestion));
  const service = $('micro-service').selectedOptions[0].textContent;
  $('questions-intro').textContent =
    `${service}: ${wizard.questions.length} questions, those marked * are required.`;
  $('questions-form').hidden = false;
}

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
  wrapper.append(caption, renderInput(question, inputId));

  const hint = hintFor(question);
  if (hint) wrapper.append(el('p', { class: 'hint' }, hint));
  if (grouped) field.append(wrapper);
  // Where publishJob's extensions.fields message for this question is shown.
  field.append(el('p', { class: 'field-error', id: `error-${question.id}`, role: 'alert' }));
  return field;
}

function isRadioSelect(question) {
  return question.type === 'SINGLE_SELECT' && question.options.length <= MAX_RADIO_OPTIONS;
}

function renderInput(question, inputId) {
  const required = question.required;
  switch (question.type) {
    case 'SINGLE_SELECT':
      if (isRadioSelect(question)) return choices(question, 'radio', question.options);
      return selectFor(question, inputId);
    case 'MULTI_SELECT':
      return choices(question, 'checkbox', question.options);
    case 'BOOLEAN':
      // Two radios, not a checkbox: "not answered" must stay distinguishable from "no".
      return choices(question, 'radio', [
        { value: 'true', label: 'Yes' },
        { value: 'false', label: 'No' },
      ]);
    case 'NUMBER': {
      const input = el('input', { type: 'number', id: inputId, name: question.id, step: 'any' });
      if (question.min !== null) input.min = question.min;
      if (question.max !== null) input.max = question.max;
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
      input.required = required;
      return input;
    }
  }
}

function selectFor(question, inputId) {
  const select = el('select', { id: inputId, name: question.id });
  select.add(new Option(question.required ? 'Choose…' : '(no answer)', ''));
  for (const option of question.options) select.add(new Option(option.label, option.value));
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

/** The answers object publishJob takes: question id -> value; unanswered questions left out. */
function collectAnswers(questions) {
  const form = $('questions-form');
  const answers = {};
  for (const question of questions) {
    const name = question.id;
    let value;
    switch (question.type) {
      case 'MULTI_SELECT':
        value = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
        if (value.length === 0) value = undefined;
        break;
      case 'BOOLEAN': {
        const checked = form.querySelector(`input[name="${name}"]:checked`);
        value = checked ? checked.value === 'true' : undefined;
        break;
      }
      case 'NUMBER': {
        const raw = form.elements[name].value.trim();
        value = raw === '' ? undefined : Number(raw);
        break;
      }
      case 'SINGLE_SELECT':
        if (isRadioSelect(question)) {
          const checked = form.querySelector(`input[name="${name}"]:checked`);
          value = checked ? checked.value : undefined;
          break;
        }
      // falls through: a <select> reads like a text input
      default: {
        const raw = form.elements[name].value;
        value = raw.trim() === '' ? undefined : raw;
      }
    }
    if (value !== undefined) answers[name] = value;
  }
  return answers;
}

// ---------------------------------------------------------------------------------------------
// Step 3: publishJob, and its errors next to their fields

async function onSubmit(event) {
  event.preventDefault();
  // The form is `novalidate`: the server's rules are the ones that count, and this page shows
  // how to display them. (A production app may check min/max/required up front as well.)
  clearErrors();
  const wizard = state.wizard;
  const input = { microId: wizard.microId, answers: collectAnswers(wizard.questions) };
  // microUuid is null only while the server's lookup is degraded; the job is then slug-only.
  if (wizard.microUuid) input.microUuid = wizard.microUuid;

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
    const data = await graphql(PUBLISH_MUTATION, { input });
    showResult(data.publishJob.job);
  } catch (err) {
    showFormError(err);
  } finally {
    button.disabled = false;
    button.textContent = 'Publish job';
  }
}

function showResult(job) {
  $('job-id').textContent = job.id;
  $('job-micro-id').textContent = job.microId;
  $('job-micro-uuid').textContent = job.microUuid || '(pending: stored by slug, filled in later)';
  $('job-status').textContent = job.status;
  $('questions-form').hidden = true;
  $('result').hidden = false;
  $('result').scrollIntoView({ behavior: 'smooth' });
}

function showFormError(err) {
  const box = $('form-error');
  const unplaced = [];
  for (const [questionId, message] of Object.entries(err.fields || {})) {
    const slot = $(`error-${questionId}`);
    if (slot) {
      slot.textContent = message;
      slot.closest('.field').classList.add('invalid');
    } else {
      unplaced.push(`${questionId}: ${message}`);
    }
  }
  let text = err.message;
  if (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') {
    text += ' Enter an API key above (with the jobs:write scope to publish).';
    $('api-key-box').open = true;
  }
  box.replaceChildren(el('strong', {}, text));
  if (unplaced.length) box.append(el('ul', {}, ...unplaced.map((line) => el('li', {}, line))));
  box.hidden = false;
  const firstInvalid = document.querySelector('.field.invalid');
  (firstInvalid || box).scrollIntoView({ behavior: 'smooth', block: 'center' });
}

function clearErrors() {
  $('form-error').hidden = true;
  for (const slot of document.querySelectorAll('.field-error')) slot.textContent = '';
  for (const field of document.querySelectorAll('.field.invalid')) {
    field.classList.remove('invalid');
  }
}

function hideQuestions() {
  state.wizard = null;
  clearErrors();
  $('questions-form').hidden = true;
  $('questions').replaceChildren();
}

function startOver() {
  $('result').hidden = true;
  $('category').value = '';
  onCategoryChange();
  window.scrollTo({ top: 0 });
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
  $('post-another').addEventListener('click', startOver);
  loadCatalogue();
});
