// The wizard's "where and what it looks like" step: a UK postcode (checked as it is typed), an
// optional address line, and up to ten photos, each uploaded as soon as it is added.
//
//   JobLocation.mount(container, { apiKey })  renders both fields into `container` (apiKey():
//                                             the bearer for uploads, or a promise of it), or
//   JobLocation.steps({ apiKey })             two wizard steps (where; photos) to place
//   JobLocation.problems()                    what still stops publishing, as { field: message }
//   JobLocation.input()                       { location: {...}, photoIds: [...] } for publishJob
//   JobLocation.showErrors(fields)            puts publishJob's extensions.fields `location` and
//                                             `photoIds` at their fields; returns the others
//   JobLocation.clearErrors(), JobLocation.reset()
//
// Photos travel the way the API stages them: POST /uploads (multipart, one file a request) for
// each photo, then publishJob names them in `photoIds`. The previews are the server's own
// thumbnails (signed URLs), so what the customer sees is what a tradesperson will see.
'use strict';

(function () {
  const MAX_PHOTOS = 10;
  const MAX_ADDRESS_LINE = 200;
  const ACCEPT = 'image/jpeg,image/png,image/webp';
  // The server's rules (domain/location.py), so the customer hears about a typo before
  // publishing; the server checks again and its answer is the one that counts.
  const OUTWARD = '(?:[A-PR-UWYZ](?:\\d\\d?|\\d[A-HJKPSTUW])|[A-PR-UWYZ][A-HK-Y](?:\\d\\d?|\\d[ABEHMNPRVWXY]))';
  const INWARD = '\\d[ABD-HJLNP-UW-Z]{2}';
  const POSTCODE = new RegExp(`^(${OUTWARD})(${INWARD})$`);
  const OUTWARD_ONLY = new RegExp(`^${OUTWARD}$`);
  const SPECIAL = new Set([
    'GIR0AA', 'SANTA1', 'ASCN1ZZ', 'BBND1ZZ', 'BIQQ1ZZ', 'FIQQ1ZZ', 'GX111AA', 'PCRN1ZZ',
    'SIQQ1ZZ', 'STHL1ZZ', 'TDCU1ZZ', 'TKCA1ZZ',
  ]);

  const state = {
    root: null,
    apiKey: () => '',
    photos: [], // { key, id, status: 'uploading' | 'done' | 'failed', item }
    steps: null, // the two wizard steps, once built
    nextKey: 1,
  };

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  const $ = (id) => document.getElementById(id);

  /** The postcode as Royal Mail writes it ("SW1A 1AA"), or null when it is not one. */
  function normalisePostcode(raw) {
    const compact = String(raw).replace(/[ \t]+/g, '').toUpperCase();
    if (SPECIAL.has(compact) || POSTCODE.test(compact)) {
      return `${compact.slice(0, -3)} ${compact.slice(-3)}`;
    }
    return null;
  }

  /** What is wrong with `raw` as a postcode, in the server's words, or '' when it is fine. */
  function postcodeProblem(raw) {
    if (raw.length > 16) return 'Postcode is too long: a UK postcode has at most 7 letters and digits.';
    if (!/^[A-Za-z0-9 \t]*$/.test(raw)) return 'Postcode may contain only letters, digits and spaces.';
    const compact = raw.replace(/[ \t]+/g, '').toUpperCase();
    if (!compact) return 'Postcode is required.';
    if (normalisePostcode(raw)) return '';
    if (OUTWARD_ONLY.test(compact)) {
      return `Postcode needs both halves: '${compact}' is only the first (e.g. SW1A 1AA).`;
    }
    return 'Postcode is not a valid UK postcode (e.g. SW1A 1AA).';
  }

  function setFieldError(name, message) {
    const slot = $(`error-${name}`);
    if (!slot) return false;
    slot.textContent = message;
    slot.closest('.field').classList.toggle('invalid', Boolean(message));
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Postcode and address line

  function onPostcodeInput(event) {
    const input = event.target;
    const raw = input.value;
    const problem = postcodeProblem(raw);
    const compact = raw.replace(/[ \t]+/g, '');
    // While typing, speak up only about what more typing cannot fix (a bad character, too
    // long), or once the value is long enough to be a whole postcode; on leaving the field,
    // about anything.
    const settled = event.type === 'change' || event.type === 'blur';
    const show = problem && (settled || compact.length >= 5 || /characters|digits|long/.test(problem));
    setFieldError('location', show ? problem : '');
    const ok = $('postcode-ok');
    const normal = normalisePostcode(raw);
    ok.textContent = normal ? `✓ ${normal}` : '';
  }

  // -------------------------------------------------------------------------------------------
  // Photos

  function photoCount() {
    return state.photos.length;
  }

  function refreshPhotoControls() {
    if (!$('photo-input')) return; // not in the page (yet)
    const left = MAX_PHOTOS - photoCount();
    $('photo-input').disabled = left <= 0;
    $('photo-count').textContent = left > 0
      ? `${photoCount()} of ${MAX_PHOTOS} photos. JPEG, PNG or WebP, up to 10 MB each.`
      : `${MAX_PHOTOS} of ${MAX_PHOTOS} photos: remove one to add another.`;
  }

  function onFilesChosen(event) {
    const input = event.target;
    const files = [...input.files];
    input.value = ''; // the same file may be chosen again after removing it
    setFieldError('photoIds', '');
    const room = MAX_PHOTOS - photoCount();
    if (files.length > room) {
      setFieldError('photoIds', `At most ${MAX_PHOTOS} photos: ${files.length - room} not added.`);
    }
    for (const file of files.slice(0, Math.max(room, 0))) addPhoto(file);
    refreshPhotoControls();
  }

  function addPhoto(file) {
    const photo = { key: state.nextKey++, id: null, status: 'uploading', item: null };
    const status = el('span', { class: 'photo-status' }, 'Uploading…');
    const remove = el('button', { type: 'button', class: 'photo-remove', 'aria-label': `Remove ${file.name}` }, 'Remove');
    const preview = el('div', { class: 'photo-preview' });
    const item = el('li', { class: 'photo uploading', 'data-key': String(photo.key) },
      preview, el('span', { class: 'photo-name' }, file.name), status, remove);
    photo.item = item;
    remove.addEventListener('click', () => removePhoto(photo));
    state.photos.push(photo);
    $('photo-list').append(item);
    upload(photo, file, preview, status);
  }

  async function upload(photo, file, preview, status) {
    const body = new FormData();
    body.append('file', file, file.name);
    const headers = { Accept: 'application/json' };
    const key = await state.apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let message;
    try {
      const response = await fetch('/uploads', { method: 'POST', body, headers });
      const answer = await response.json().catch(() => null);
      if (response.ok && answer && answer.id) {
        if (!state.photos.includes(photo)) return; // removed while it was uploading
        photo.id = answer.id;
        photo.status = 'done';
        photo.item.classList.replace('uploading', 'done');
        photo.item.dataset.uploadId = answer.id;
        const image = el('img', { src: answer.thumbnailUrl, alt: file.name });
        preview.replaceChildren(image);
        status.textContent = `${answer.width} × ${answer.height}`;
        return;
      }
      const error = answer && answer.errors && answer.errors[0];
      message = uploadMessage(response.status, error && error.extensions ? error.extensions.code : '');
    } catch (err) {
      message = 'This photo could not be sent: check your connection, then add it again.';
    }
    if (!state.photos.includes(photo)) return;
    photo.status = 'failed';
    photo.item.classList.replace('uploading', 'failed');
    status.textContent = message;
    status.setAttribute('role', 'alert');
  }

  /** Why a photo was refused, for the customer: the server's own message is for developers. */
  function uploadMessage(status, code) {
    if (status === 401 || code === 'UNAUTHENTICATED') {
      return 'Sign in (at the top of the page) to add photos, then add this one again.';
    }
    if (status === 403 || code === 'FORBIDDEN') return 'Photos cannot be added with this sign-in.';
    if (status === 413 || code === 'PAYLOAD_TOO_LARGE') return 'This photo is too big: up to 10 MB.';
    if (status === 415 || code === 'UNSUPPORTED_MEDIA_TYPE') {
      return 'This file is not a photo we can take: use a JPEG, PNG or WebP picture.';
    }
    if (status === 429) return 'Too many photos at once: wait a minute, then add it again.';
    if (code === 'BAD_USER_INPUT') return 'This photo could not be read: try another picture.';
    return 'This photo could not be added right now: remove it and try again, or go on without it.';
  }

  function removePhoto(photo) {
    state.photos = state.photos.filter((p) => p !== photo);
    photo.item.remove();
    setFieldError('photoIds', '');
    refreshPhotoControls();
  }

  // -------------------------------------------------------------------------------------------
  // What the page calls

  function locationField() {
    const postcode = el('input', {
      type: 'text', id: 'postcode', name: 'postcode', autocomplete: 'postal-code',
      autocapitalize: 'characters', spellcheck: 'false', maxlength: '16', placeholder: 'e.g. SW1A 1AA',
    });
    postcode.required = true;
    const address = el('input', {
      type: 'text', id: 'address-line', name: 'addressLine', autocomplete: 'address-line1',
      maxlength: String(MAX_ADDRESS_LINE), placeholder: 'e.g. Flat 2, 10 High Street',
      'aria-describedby': 'address-line-hint',
    });
    postcode.setAttribute('aria-describedby', 'postcode-ok error-location');
    postcode.addEventListener('input', onPostcodeInput);
    postcode.addEventListener('change', onPostcodeInput);
    // Two fields: the postcode's holds the error slot for `location` (address line faults name
    // the address line in their message), so only the postcode's box turns red.
    return [
      el('div', { class: 'field', id: 'field-location' },
        el('label', { for: 'postcode' }, 'Postcode of the job', el('span', { class: 'required', title: 'required' }, ' *')),
        postcode,
        el('p', { class: 'hint', id: 'postcode-ok' }),
        el('p', { class: 'field-error', id: 'error-location' })),
      el('div', { class: 'field', id: 'field-addressLine' },
        el('label', { for: 'address-line' }, 'First line of the address (optional)'),
        address,
        el('p', { class: 'hint', id: 'address-line-hint' }, 'The postcode finds local trades; the address line is shared only with those allowed to see the whole job.')),
    ];
  }

  function photosField() {
    state.photos = [];
    const files = el('input', {
      type: 'file', id: 'photo-input', accept: ACCEPT, multiple: '', 'aria-describedby': 'photo-count error-photoIds',
    });
    files.addEventListener('change', onFilesChosen);
    return el('div', { class: 'field', id: 'field-photoIds' },
      el('label', { for: 'photo-input' }, 'Photos (optional)'),
      files,
      el('p', { class: 'hint', id: 'photo-count' }),
      el('ul', { class: 'photos', id: 'photo-list' }),
      el('p', { class: 'field-error', id: 'error-photoIds' }));
  }

  function useOptions(options) {
    if (options.apiKey) state.apiKey = options.apiKey;
  }

  /** Both fields, one after the other, into `container` (a page without steps). */
  function mount(container, options = {}) {
    state.root = container;
    useOptions(options);
    container.replaceChildren(...locationField(), photosField());
    refreshPhotoControls();
  }

  /** Two wizard steps, { id, title, section, isEmpty() } each: where the job is, and its
   *  photos. A stepped wizard puts them where it wants them (post.js: buildSteps). */
  function steps(options = {}) {
    useOptions(options);
    // Built once: a customer who switches service keeps the postcode and photos given.
    if (state.steps) return state.steps;
    state.root = null;
    const step = (id, title, ...fields) => {
      const section = el('section', { class: 'wizard-step', id: `step-${id}`, 'aria-labelledby': `title-${id}` },
        el('h3', { id: `title-${id}` }, title), ...fields);
      section.dataset.stepId = id;
      return { id, title, section, isEmpty: () => false };
    };
    const where = step('location', 'Where is the job?', ...locationField());
    where.validate = () => pick(problems(), 'location');
    const photos = step('photos', 'Photos of the job', photosField());
    photos.validate = () => pick(problems(), 'photoIds');
    state.steps = [where, photos];
    // The photo controls exist once the section is in the page; the count is set right away.
    queueMicrotask(refreshPhotoControls);
    return [where, photos];
  }

  function pick(found, name) {
    return name in found ? { [name]: found[name] } : {};
  }

  /** What stops publishing now, by field ({} when nothing does). */
  function problems() {
    const found = {};
    if (!$('postcode')) return found;
    const postcode = postcodeProblem($('postcode').value);
    if (postcode) found.location = postcode;
    else if ($('address-line').value.length > MAX_ADDRESS_LINE) {
      found.location = `Address line must be at most ${MAX_ADDRESS_LINE} characters.`;
    }
    if (state.photos.some((p) => p.status === 'uploading')) {
      found.photoIds = 'Photos are still uploading: wait a moment, then publish.';
    } else if (state.photos.some((p) => p.status === 'failed')) {
      found.photoIds = 'Some photos could not be added: remove them (their messages say why), or add them again.';
    }
    return found;
  }

  /** The part of publishJob's input this step owns. */
  function input() {
    if (!$('postcode')) return {};
    const location = { postcode: $('postcode').value };
    const addressLine = $('address-line').value.trim();
    if (addressLine) location.addressLine = addressLine;
    const photoIds = state.photos.filter((p) => p.status === 'done').map((p) => p.id);
    return { location, photoIds };
  }

  /** Shows `location` and `photoIds` messages at their fields; returns the other fields. */
  function showErrors(fields) {
    const rest = {};
    for (const [name, message] of Object.entries(fields || {})) {
      if (!(name === 'location' || name === 'photoIds') || !setFieldError(name, message)) {
        rest[name] = message;
      }
    }
    return rest;
  }

  function clearErrors() {
    setFieldError('location', '');
    setFieldError('photoIds', '');
  }

  function reset() {
    state.photos = [];
    state.steps = null;
    if (state.root) mount(state.root);
  }

  window.JobLocation = {
    mount, steps, problems, input, showErrors, clearErrors, reset, normalisePostcode,
    postcodeProblem, MAX_PHOTOS,
  };
})();
