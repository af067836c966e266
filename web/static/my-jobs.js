// "My jobs" on /post: the caller's jobs and what they can do with one, through the API alone.
//
//   myJobs(first, after)          -> the list, newest first, a page at a time ("Load more"
//                                    follows pageInfo.endCursor)
//   job(id)                       -> one job: its answers (labelled by its service's questions),
//                                    description, contact and status
//   updateJob(input: {id, expectedVersion, answers})
//                                 -> an answer changed; CONFLICT when the job changed since it
//                                    was read (another tab, another device): reload, say so
//   cancelJob(input: {id, reason}) -> the job cancelled; NOT_EDITABLE once it has left PUBLISHED
//
// The caller is the signed-in customer, or the API key typed into the page (post.js: bearer).
// Uses post.js's graphql(), ApiError, answerText() and el().
'use strict';

const MyJobs = (() => {
  const PAGE_SIZE = 10;
  const LIST_QUERY = `
    query MyJobs($first: Int!, $after: String) {
      myJobs(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { id status createdAt microId microService { name } location { postcode } } }
      }
    }`;
  const JOB_FIELDS = `
    id status version createdAt updatedAt microId answers description
    microService {
      name
      questions {
        id: key label type required min max unit allowNotSure
        options { value label }
        showIf { questionId values }
      }
    }
    location { postcode district addressLine }
    photos { id thumbnailUrl }
    contact { name email phone preferredContact }`;
  const JOB_QUERY = `query Job($id: UUID!) { job(id: $id) { ${JOB_FIELDS} } }`;
  const UPDATE_MUTATION = `
    mutation UpdateJob($input: UpdateJobInput!) { updateJob(input: $input) { job { ${JOB_FIELDS} } } }`;
  const CANCEL_MUTATION = `
    mutation CancelJob($input: CancelJobInput!) { cancelJob(input: $input) { job { ${JOB_FIELDS} } } }`;

  // Statuses in words: a short name for the list, a sentence for the job's own page.
  const STATUS = {
    PUBLISHED: ['Open', 'Open: tradespeople can see it and get in touch.'],
    CANCELLED: ['Cancelled', 'Cancelled: tradespeople no longer see it.'],
    CLOSED: ['Closed', 'Closed: you marked it as done.'],
    EXPIRED: ['Expired', 'Expired: it was open for the longest a job stays open, and is no longer shown.'],
  };
  const METHODS = { EMAIL: 'Email', PHONE: 'Phone', ANY: 'Email or phone' };

  const state = { after: null, job: null, editing: null };
  const $ = (id) => document.getElementById(id);

  function statusWord(status) {
    return (STATUS[status] || [status])[0];
  }

  function date(iso) {
    return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
  }

  function showError(slot, err) {
    let text = err.message;
    if (err.code === 'UNAUTHENTICATED') {
      text = 'Sign in to see your jobs (or, testing as a partner, enter an API key).';
    }
    $(slot).textContent = text;
  }

  // -------------------------------------------------------------------------------------------
  // The list

  async function showList() {
    $('view-job').hidden = true;
    $('view-my-jobs').hidden = false;
    $('my-jobs-title').focus();
    state.after = null;
    $('my-jobs-list').replaceChildren();
    $('my-jobs-count').textContent = 'Loading…';
    await loadPage();
  }

  async function loadPage() {
    $('my-jobs-error').textContent = '';
    const more = $('my-jobs-more');
    more.disabled = true;
    try {
      const data = await graphql(LIST_QUERY, { first: PAGE_SIZE, after: state.after }, { identify: true });
      const page = data.myJobs;
      const firstNew = page.edges.length ? page.edges[0].node.id : null;
      $('my-jobs-list').append(...page.edges.map((edge) => listItem(edge.node)));
      const total = page.totalCount;
      $('my-jobs-count').textContent = total === 0
        ? 'You have not posted a job yet.'
        : `${total} job${total === 1 ? '' : 's'}, newest first.`;
      state.after = page.pageInfo.endCursor;
      more.hidden = !page.pageInfo.hasNextPage;
      // After "Load more", the first of the new jobs takes the focus, not the top of the list.
      if (state.after && firstNew && document.activeElement === more) {
        const link = $('my-jobs-list').querySelector(`[data-job-id="${firstNew}"] button`);
        if (link) link.focus();
      }
    } catch (err) {
      $('my-jobs-count').textContent = '';
      showError('my-jobs-error', err);
    } finally {
      more.disabled = false;
    }
  }

  function listItem(job) {
    const name = job.microService ? job.microService.name : job.microId;
    const open = el('button', { type: 'button', class: 'link job-open' }, name);
    open.addEventListener('click', () => showJob(job.id));
    const where = job.location ? ` · ${job.location.postcode}` : '';
    return el('li', { class: `job-item status-${job.status.toLowerCase()}`, 'data-job-id': job.id },
      open,
      el('span', { class: 'job-meta' }, `Posted ${date(job.createdAt)}${where}`),
      el('span', { class: 'job-status' }, statusWord(job.status)));
  }

  // -------------------------------------------------------------------------------------------
  // One job

  async function showJob(id, notice = '') {
    $('view-my-jobs').hidden = true;
    $('view-job').hidden = false;
    $('job-error').textContent = '';
    $('job-notice').textContent = notice;
    try {
      const data = await graphql(JOB_QUERY, { id }, { identify: true });
      if (!data.job) throw new ApiError('This job could not be found.', 'NOT_FOUND');
      renderJob(data.job);
    } catch (err) {
      $('job-title').textContent = 'Job';
      showError('job-error', err);
    }
    $('job-title').focus();
  }

  function renderJob(job) {
    state.job = job;
    state.editing = null;
    const service = job.microService;
    $('job-title').textContent = service ? service.name : job.microId;
    const [, sentence] = STATUS[job.status] || [job.status, job.status];
    $('job-status-line').textContent = sentence;
    $('job-status-line').className = `job-status status-${job.status.toLowerCase()}`;

    const facts = [['Posted', date(job.createdAt)]];
    if (job.updatedAt && job.updatedAt !== job.createdAt) facts.push(['Last changed', date(job.updatedAt)]);
    if (job.location) {
      const district = job.location.district ? ` (${job.location.district})` : '';
      facts.push(['Where', `${job.location.postcode}${district}`]);
      if (job.location.addressLine) facts.push(['Address', job.location.addressLine]);
    }
    if (job.photos && job.photos.length) facts.push(['Photos', `${job.photos.length}`]);
    if (job.description) facts.push(['Anything else', job.description]);
    if (job.contact) {
      facts.push(['Your name', job.contact.name], ['Email', job.contact.email]);
      if (job.contact.phone) facts.push(['Phone', job.contact.phone]);
      facts.push(['Contact me by', METHODS[job.contact.preferredContact] || job.contact.preferredContact]);
    }
    $('job-facts').replaceChildren(...facts.flatMap(([term, text]) => [el('dt', {}, term), el('dd', {}, text)]));
    renderAnswers(job);

    const open = job.status === 'PUBLISHED';
    $('job-cancel-box').hidden = !open;
    $('job-cancel').hidden = false;
    $('job-cancel-form').hidden = true;
  }

  function questionsOf(job) {
    return job.microService ? job.microService.questions : [];
  }

  function renderAnswers(job) {
    const byId = new Map(questionsOf(job).map((q) => [q.id, q]));
    const editable = job.status === 'PUBLISHED';
    const rows = [];
    for (const [id, value] of Object.entries(job.answers || {})) {
      const question = byId.get(id);
      const label = question ? question.label : id;
      const text = el('span', { class: 'answer-text' }, answerText(question, value));
      const dd = el('dd', { id: `answer-${id}` }, text);
      if (editable && question) {
        const change = el('button', { type: 'button', class: 'link', 'aria-label': `Change: ${label}` }, 'Change');
        change.addEventListener('click', () => startEdit(question, value, dd));
        dd.append(' ', change);
      }
      rows.push(el('dt', {}, label), dd);
    }
    $('job-answers').replaceChildren(...rows);
  }

  // -------------------------------------------------------------------------------------------
  // Changing an answer: one question's input in place of its answer, then updateJob

  function editorFor(question, value, inputId) {
    const current = value === 'not_sure' ? '' : value;
    const options = [...(question.options || [])];
    if (question.allowNotSure && !options.some((o) => o.value === 'not_sure')) {
      options.push({ value: 'not_sure', label: 'Not sure' });
    }
    if (question.type === 'SINGLE_SELECT' || question.type === 'BOOLEAN') {
      const select = el('select', { id: inputId });
      const choices = question.type === 'BOOLEAN'
        ? [{ value: 'true', label: 'Yes' }, { value: 'false', label: 'No' },
          ...(question.allowNotSure ? [{ value: 'not_sure', label: 'Not sure' }] : [])]
        : options;
      for (const option of choices) select.add(new Option(option.label, option.value));
      select.value = String(value);
      return select;
    }
    if (question.type === 'MULTI_SELECT') {
      const group = el('div', { class: 'choices checkbox', id: inputId, role: 'group' });
      for (const option of question.options) {
        const box = el('input', { type: 'checkbox', value: option.value });
        box.checked = Array.isArray(value) && value.includes(option.value);
        group.append(el('label', { class: 'choice' }, box, ` ${option.label}`));
      }
      return group;
    }
    const type = { NUMBER: 'number', DATE: 'date' }[question.type] || 'text';
    const input = el('input', { type, id: inputId });
    if (type === 'number') {
      input.step = 'any';
      if (question.min !== null) input.min = question.min;
      if (question.max !== null) input.max = question.max;
    } else if (type === 'text' && question.max !== null) {
      input.maxLength = question.max;
    }
    input.value = current === undefined ? '' : String(current);
    return input;
  }

  function readEditor(question, editor) {
    if (question.type === 'MULTI_SELECT') {
      return [...editor.querySelectorAll('input:checked')].map((box) => box.value);
    }
    const raw = editor.value.trim();
    if (raw === 'not_sure') return 'not_sure';
    if (question.type === 'BOOLEAN') return raw === 'true';
    if (question.type === 'NUMBER') return raw === '' ? undefined : Number(raw);
    return raw === '' ? undefined : raw;
  }

  function startEdit(question, value, dd) {
    if (state.editing) state.editing.cancel();
    const inputId = `edit-${question.id}`;
    const errorId = `edit-error-${question.id}`;
    const editor = editorFor(question, value, inputId);
    editor.setAttribute('aria-describedby', errorId);
    editor.setAttribute('aria-label', question.label);
    const save = el('button', { type: 'submit' }, 'Save');
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const form = el('form', { class: 'answer-editor', novalidate: '' },
      editor, el('p', { class: 'field-error', id: errorId }), el('div', { class: 'actions' }, cancel, save));
    const shown = [...dd.childNodes];
    dd.replaceChildren(form);
    const restore = () => {
      dd.replaceChildren(...shown);
      state.editing = null;
      dd.querySelector('button').focus();
    };
    state.editing = { cancel: restore };
    cancel.addEventListener('click', restore);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      saveAnswer(question, readEditor(question, editor), { save, editor, errorId });
    });
    (editor.querySelector('input') || editor).focus();
  }

  /** Every answer the job holds with one changed, less those its new answer now hides. */
  function answersWith(job, questionId, value) {
    const answers = { ...job.answers };
    if (value === undefined || (Array.isArray(value) && value.length === 0)) delete answers[questionId];
    else answers[questionId] = value;
    const byId = new Map(questionsOf(job).map((q) => [q.id, q]));
    const shown = (question) => (question.showIf || []).every((condition) => {
      const parent = byId.get(condition.questionId);
      if (parent && !shown(parent)) return false;
      const answer = answers[condition.questionId];
      const values = answer === undefined ? [] : Array.isArray(answer) ? answer.map(String) : [String(answer)];
      return values.some((v) => condition.values.includes(v));
    });
    for (const id of Object.keys(answers)) {
      const question = byId.get(id);
      if (question && !shown(question)) delete answers[id];
    }
    return answers;
  }

  async function saveAnswer(question, value, { save, editor, errorId }) {
    const job = state.job;
    save.disabled = true;
    $(errorId).textContent = '';
    editor.removeAttribute('aria-invalid');
    try {
      const input = { id: job.id, expectedVersion: job.version, answers: answersWith(job, question.id, value) };
      const data = await graphql(UPDATE_MUTATION, { input }, { identify: true });
      renderJob(data.updateJob.job);
      $('job-notice').textContent = `Saved: ${question.label}`;
      $('job-title').focus();
    } catch (err) {
      save.disabled = false;
      if (err.code === 'CONFLICT' || err.code === 'NOT_EDITABLE') {
        const why = err.code === 'CONFLICT'
          ? 'This job was changed somewhere else (another tab or device) since you opened it, so your change was not saved. Here it is as it is now: make your change again if you still need it.'
          : 'This job can no longer be changed: it is not open any more.';
        await showJob(job.id, why);
        return;
      }
      const message = (err.fields && (err.fields[question.id] || Object.values(err.fields)[0])) || err.message;
      $(errorId).textContent = message;
      editor.setAttribute('aria-invalid', 'true');
      (editor.querySelector('input') || editor).focus();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Cancelling

  function askCancel() {
    $('job-cancel').hidden = true;
    $('job-cancel-form').hidden = false;
    $('cancel-reason').focus();
  }

  function keepJob() {
    $('job-cancel-form').hidden = true;
    $('job-cancel').hidden = false;
    $('job-cancel').focus();
  }

  async function confirmCancel(event) {
    event.preventDefault();
    const job = state.job;
    const button = $('job-cancel-confirm');
    button.disabled = true;
    $('job-error').textContent = '';
    const input = { id: job.id };
    const reason = $('cancel-reason').value.trim();
    if (reason) input.reason = reason;
    try {
      const data = await graphql(CANCEL_MUTATION, { input }, { identify: true });
      $('cancel-reason').value = '';
      renderJob(data.cancelJob.job);
      $('job-notice').textContent = 'Your job is cancelled.';
      $('job-title').focus();
    } catch (err) {
      if (err.code === 'NOT_EDITABLE') await showJob(job.id, 'This job is no longer open, so it cannot be cancelled.');
      else showError('job-error', err);
    } finally {
      button.disabled = false;
    }
  }

  function reset() {
    state.after = null;
    state.job = null;
    $('my-jobs-list').replaceChildren();
    $('my-jobs-count').textContent = '';
    $('job-answers').replaceChildren();
    $('job-facts').replaceChildren();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('my-jobs-more').addEventListener('click', loadPage);
    $('job-back').addEventListener('click', showList);
    $('job-cancel').addEventListener('click', askCancel);
    $('job-cancel-keep').addEventListener('click', keepJob);
    $('job-cancel-form').addEventListener('submit', confirmCancel);
  });

  return { showList, showJob, reset };
})();
