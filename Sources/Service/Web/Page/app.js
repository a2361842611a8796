// The page: photos in, settings, one request per photo to POST /api/process, results beside their
// originals. One photo per request so each has its own progress, state and error (a batch request
// is all or nothing). Everything it knows about the service comes from GET /api/health.

import { ApiError, resolveApiBase, fetchHealth, processPhoto, fetchResult } from './api.js';
import { sniffFormat, readImageSize, formatBytes, formatLimitBytes, formatMegapixels, refusalReason, largePhotoNote } from './preflight.js';
import { createComparison, enableDragPanning } from './compare.js';
import { makeZip } from './zip.js';

/** The model file behind both Real-ESRGAN options; every other file /api/health lists is needed for any restoration. */
const upsamplerFile = 'RealESRGAN_x2plus.pth';
const installCommand = 'facerestore models download';
/** The contract's defaults. */
const defaults = { fidelity: 0.5, upscale: 2, background_enhance: false, face_upsample: false };
/**
 * How long (seconds from its first send) a photo is sent again after 503 + Retry-After before the
 * page gives up. A time, not a count: a service whose running restoration is overdue advises a
 * second at a time, and a count of such retries would give up while the queue is about to free.
 */
const retryBudgetSeconds = 600;
/** Photo states in which a photo still counts against the service's batch limit. */
const pendingStates = new Set(['checking', 'ready', 'scheduled', 'uploading', 'waiting', 'retrying']);
/** States in which a request is under way (or about to be retried). */
const activeStates = new Set(['uploading', 'waiting', 'retrying']);

const byId = (id) => document.getElementById(id);
const ui = {
  serverStatus: byId('server-status'),
  notice: byId('service-notice'),
  dropZone: byId('drop-zone'),
  fileInput: byId('file-input'),
  limitsText: byId('limits-text'),
  settings: byId('settings'),
  fidelity: byId('fidelity'),
  fidelityValue: byId('fidelity-value'),
  upscaleHelp: byId('upscale-help'),
  background: byId('background-enhance'),
  backgroundModel: byId('background-model'),
  faceUpsample: byId('face-upsample'),
  faceModel: byId('face-model'),
  resetSettings: byId('reset-settings'),
  restoreAll: byId('restore-all'),
  downloadAll: byId('download-all'),
  clearAll: byId('clear-all'),
  workSummary: byId('work-summary'),
  emptyNote: byId('empty-note'),
  list: byId('photo-list'),
  template: byId('photo-template'),
  photosHeading: byId('photos-heading'),
  apiBase: byId('api-base'),
  retentionText: byId('retention-text'),
  versionText: byId('version-text'),
  announcer: byId('announcer'),
  zoomDialog: byId('zoom-dialog'),
  zoomTitle: byId('zoom-title'),
  zoomToggle: byId('zoom-toggle'),
  zoomClose: byId('zoom-close'),
  zoomViewport: byId('zoom-viewport'),
  zoomImage: byId('zoom-image'),
};

const { base: apiBase, problem: apiProblem } = resolveApiBase(window.location);

const page = {
  /** The last /api/health answer, or null. */
  health: null,
  healthFailed: false,
  photos: [],
  nextId: 1,
  ticker: null,
  /** Which photo the zoom dialog shows, and whether it shows the original. */
  zoom: { photo: null, original: false },
};

// ---------------------------------------------------------------- small helpers

function announce(text) {
  ui.announcer.textContent = '';
  window.setTimeout(() => { ui.announcer.textContent = text; }, 60);
}

function formatDuration(milliseconds) {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function formatRetention(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** `photo.jpg` -> `photo_restored.png`, with characters file systems refuse replaced. */
function downloadName(name) {
  const stem = name.replace(/\.[^./\\]*$/, '') || 'photo';
  return `${stem.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_')}_restored.png`;
}

function saveBlob(url, fileName) {
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
}

function currentSettings() {
  const upscale = ui.settings.querySelector('input[name="upscale"]:checked');
  return {
    fidelity: Number(Number(ui.fidelity.value).toFixed(2)),
    upscale: Number(upscale ? upscale.value : defaults.upscale),
    background_enhance: ui.background.checked && !ui.background.disabled,
    face_upsample: ui.faceUpsample.checked && !ui.faceUpsample.disabled,
  };
}

function modelState(file) {
  const models = page.health && page.health.models;
  return models ? models[file] : undefined;
}

/** The files a restoration always needs that the service does not have loaded. */
function missingRequiredModels() {
  const models = (page.health && page.health.models) || {};
  return Object.keys(models).filter((file) => file !== upsamplerFile && models[file] !== 'loaded');
}

function modelProblem(file, state) {
  return state === 'unusable'
    ? `${file} is on the server but cannot be used (damaged or not the expected file)`
    : `${file} is not installed on the server`;
}

// ---------------------------------------------------------------- the service's state

/** Polls /api/health: often while photos are under way (queue state), rarely otherwise (models, limits). */
let healthTimer = null;
let healthInFlight = false;

function scheduleHealth(delay) {
  if (healthInFlight) return; // the poll under way schedules the next one
  window.clearTimeout(healthTimer);
  healthTimer = window.setTimeout(pollHealth, delay);
}

async function pollHealth() {
  healthInFlight = true;
  try {
    page.health = await fetchHealth(apiBase);
    page.healthFailed = false;
  } catch (error) {
    page.healthFailed = true;
    ui.serverStatus.dataset.state = 'offline';
    ui.serverStatus.textContent = error.message;
  }
  if (!page.healthFailed) applyHealth();
  healthInFlight = false;
  const busy = page.photos.some((photo) => activeStates.has(photo.state));
  scheduleHealth(busy ? 1500 : 10000);
}

function applyHealth() {
  const health = page.health;
  const queue = health.queue;
  let queueText = 'idle';
  if (queue && (queue.running || queue.waiting > 0)) {
    // `running` covers the start-up warm-up too, so "busy" rather than "restoring".
    queueText = `busy; ${queue.waiting} of ${queue.queue_depth} queue places taken`;
  }
  ui.serverStatus.dataset.state = queue && queue.running ? 'busy' : 'online';
  ui.serverStatus.textContent = `Service online (${health.device || 'cpu'}): ${queueText}.`;
  if (health.version) ui.versionText.textContent = `facerestore ${health.version}.`;

  const limits = health.limits;
  if (limits) {
    ui.limitsText.textContent = `, up to ${formatLimitBytes(limits.max_image_bytes)} and ${formatMegapixels(limits.max_pixels)} each, ${limits.max_batch} at a time`;
    ui.retentionText.textContent = `for ${formatRetention(limits.result_retention_seconds)}`;
    const rules = [];
    if (limits.reduce_upscale_above) rules.push(`photos longer than ${limits.reduce_upscale_above} px get ×2 at most`);
    if (limits.no_upscale_above) rules.push(`longer than ${limits.no_upscale_above} px are not upscaled`);
    ui.upscaleHelp.textContent = `The size of the whole result, relative to the photo.${rules.length ? ` On this service ${rules.join(', and ')}.` : ''}`;
  }

  // Real-ESRGAN options: usable only with its file loaded.
  const upsampler = modelState(upsamplerFile);
  const upsamplerMissing = upsampler !== undefined && upsampler !== 'loaded';
  for (const [box, note] of [[ui.background, ui.backgroundModel], [ui.faceUpsample, ui.faceModel]]) {
    box.disabled = upsamplerMissing;
    if (upsamplerMissing) box.checked = false;
    note.hidden = !upsamplerMissing;
    note.textContent = upsamplerMissing
      ? `Unavailable: ${modelProblem(upsamplerFile, upsampler)}. Install it there with “${installCommand}” and restart the service.`
      : '';
  }

  const missing = missingRequiredModels();
  const notices = [];
  if (apiProblem) notices.push(apiProblem);
  if (missing.length) {
    notices.push(`This service cannot restore photos yet: ${missing.map((file) => modelProblem(file, modelState(file))).join('; ')}. `
      + `Install the models on the server with “${installCommand}”, then restart the service.`);
  }
  showNotice(notices.join(' '));

  // Photos added before the limits were known are checked again.
  for (const photo of page.photos) {
    if (photo.state === 'ready') {
      const reason = refusalReason(photo, limits, pendingCount(photo));
      if (reason) {
        photo.reason = reason;
        setState(photo, 'refused');
      }
    }
    if (photo.state === 'waiting') renderPhoto(photo);
  }
  updateToolbar();
}

function showNotice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text;
}

// ---------------------------------------------------------------- photos in

function pendingCount(except) {
  return page.photos.filter((photo) => photo !== except && pendingStates.has(photo.state)).length;
}

async function addFiles(files) {
  const added = [];
  for (const file of files) {
    const photo = {
      id: page.nextId++,
      file,
      name: file.name || `pasted-${new Date().toISOString().slice(11, 19).replace(/:/g, '-')}.png`,
      state: 'checking',
      format: null,
      size: null,
      previewURL: null,
      attempt: 0,
    };
    page.photos.push(photo);
    photo.element = createPhotoElement(photo);
    ui.list.append(photo.element);
    renderPhoto(photo);
    added.push(photo);
  }
  updateToolbar();
  for (const photo of added) {
    photo.format = await sniffFormat(photo.file);
    photo.previewURL = URL.createObjectURL(photo.file);
    photo.size = photo.format ? await readImageSize(photo.previewURL) : null;
    if (photo.state !== 'checking') continue; // removed meanwhile
    photo.reason = refusalReason(photo, page.health && page.health.limits, pendingCount(photo));
    setState(photo, photo.reason ? 'refused' : 'ready');
  }
  const refused = added.filter((photo) => photo.state === 'refused').length;
  if (added.length) {
    announce(`${added.length} photo${added.length > 1 ? 's' : ''} added${refused ? `, ${refused} cannot be sent (see the reason beside it)` : ''}.`);
  }
}

ui.fileInput.addEventListener('change', () => {
  addFiles(Array.from(ui.fileInput.files));
  ui.fileInput.value = '';
});

// Dropping works anywhere on the page; the drop zone lights up while something is dragged over it.
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes('Files')) return;
  dragDepth += 1;
  ui.dropZone.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.dropZone.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => { event.preventDefault(); });
document.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  ui.dropZone.classList.remove('dragging');
  // Every file dropped is listed; those that are not photos are refused with the reason.
  const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
  if (files.length) addFiles(files);
});

document.addEventListener('paste', (event) => {
  const items = Array.from((event.clipboardData && event.clipboardData.items) || []);
  const files = items.filter((item) => item.kind === 'file').map((item) => item.getAsFile()).filter(Boolean);
  if (files.length) {
    event.preventDefault();
    addFiles(files);
  }
});

// ---------------------------------------------------------------- sending

function concurrency() {
  // With room in the service's queue, the next photo uploads while one is restored.
  const depth = page.health && page.health.queue ? page.health.queue.queue_depth : 1;
  return depth > 0 ? 2 : 1;
}

function pump() {
  let active = page.photos.filter((photo) => activeStates.has(photo.state)).length;
  for (const photo of page.photos) {
    if (active >= concurrency()) break;
    if (photo.state === 'scheduled') {
      active += 1;
      send(photo);
    }
  }
  updateToolbar();
}

function schedule(photo) {
  photo.settings = currentSettings();
  photo.attempt = 0;
  photo.startedAt = null;
  photo.finishedAt = null;
  photo.error = null;
  clearResult(photo);
  setState(photo, 'scheduled');
}

async function send(photo) {
  photo.attempt += 1;
  if (photo.startedAt === null) photo.startedAt = performance.now();
  photo.progress = { loaded: 0, total: photo.file.size };
  photo.uploadedAt = null;
  setState(photo, 'uploading');
  startTicker();
  const request = processPhoto(apiBase, photo.file, photo.name, photo.settings, {
    onProgress: (loaded, total) => {
      photo.progress = { loaded, total };
      if (photo.state === 'uploading') renderPhoto(photo);
    },
    onUploaded: () => {
      photo.uploadedAt = performance.now();
      if (photo.state === 'uploading') setState(photo, 'waiting');
      scheduleHealth(250);
    },
  });
  photo.request = request;
  try {
    const result = await request.done;
    photo.request = null;
    if (photo.state === 'removed') return;
    photo.result = result;
    photo.fetchingResult = true;
    setState(photo, 'waiting');
    const blob = await fetchResult(result.image_url);
    photo.resultBlob = blob;
    photo.resultURL = URL.createObjectURL(blob);
    photo.resultSize = await readImageSize(photo.resultURL);
    if (!photo.resultSize) throw new ApiError('invalid', 'The service sent a result this browser cannot display.');
    photo.fetchingResult = false;
    photo.finishedAt = performance.now();
    if (photo.state === 'removed') return;
    setState(photo, 'done');
    renderResult(photo);
    announce(`${photo.name} is restored: ${result.faces_restored} of ${result.faces_found} face${result.faces_found === 1 ? '' : 's'} restored.`);
  } catch (error) {
    photo.request = null;
    photo.fetchingResult = false;
    if (photo.state === 'removed') return;
    if (error.kind === 'aborted') {
      setState(photo, 'ready');
    } else if (error.status === 503 && error.retryAfter !== null && withinRetryBudget(photo)) {
      retryLater(photo, error.retryAfter);
    } else {
      photo.finishedAt = performance.now();
      photo.error = error.status ? `${error.message} (HTTP ${error.status})` : error.message;
      setState(photo, 'failed');
      announce(`${photo.name} failed: ${error.message}`);
    }
  } finally {
    pump();
  }
}

/** Whether a photo refused with 503 may still be sent again (see `retryBudgetSeconds`). */
function withinRetryBudget(photo) {
  return (performance.now() - photo.startedAt) / 1000 < retryBudgetSeconds;
}

/** A 503 with Retry-After: wait as advised (bounded), then send again. */
function retryLater(photo, seconds) {
  const wait = Math.min(300, Math.max(1, seconds));
  photo.retryAt = performance.now() + wait * 1000;
  photo.retryAdvised = seconds;
  setState(photo, 'retrying');
  announce(`The service is busy. ${photo.name} will be sent again in ${wait} seconds.`);
  photo.retryTimer = window.setTimeout(() => {
    photo.retryTimer = null;
    if (photo.state === 'retrying') send(photo);
  }, wait * 1000);
}

function cancel(photo) {
  if (photo.retryTimer) {
    window.clearTimeout(photo.retryTimer);
    photo.retryTimer = null;
  }
  if (photo.request) {
    photo.request.abort(); // send() puts it back to 'ready'
  } else if (photo.state === 'scheduled' || photo.state === 'retrying') {
    setState(photo, 'ready');
    pump();
  }
}

function remove(photo) {
  const index = page.photos.indexOf(photo);
  if (photo.request) photo.request.abort();
  if (photo.retryTimer) window.clearTimeout(photo.retryTimer);
  photo.state = 'removed';
  clearResult(photo);
  if (photo.previewURL) URL.revokeObjectURL(photo.previewURL);
  photo.element.remove();
  page.photos.splice(index, 1);
  // Focus goes to the next photo's Remove button, else the previous one's, else the heading.
  const next = page.photos[index] || page.photos[index - 1];
  if (next) next.element.querySelector('.remove').focus();
  else ui.photosHeading.focus();
  pump();
}

function clearResult(photo) {
  if (photo.resultURL) URL.revokeObjectURL(photo.resultURL);
  photo.result = null;
  photo.resultBlob = null;
  photo.resultURL = null;
  photo.resultSize = null;
  if (photo.element) {
    photo.element.querySelector('.result').hidden = true;
    photo.element.querySelector('.compare-slot').replaceChildren();
  }
}

// ---------------------------------------------------------------- showing photos

function createPhotoElement(photo) {
  const element = ui.template.content.firstElementChild.cloneNode(true);
  element.id = `photo-${photo.id}`;
  const title = element.querySelector('.photo-name');
  title.id = `photo-${photo.id}-name`;
  title.textContent = photo.name;
  element.setAttribute('aria-labelledby', title.id);
  element.querySelector('.cancel').addEventListener('click', () => cancel(photo));
  element.querySelector('.again').addEventListener('click', () => { schedule(photo); pump(); });
  element.querySelector('.remove').addEventListener('click', () => remove(photo));
  element.querySelector('.remove').setAttribute('aria-label', `Remove ${photo.name}`);
  element.querySelector('.cancel').setAttribute('aria-label', `Cancel ${photo.name}`);
  element.querySelector('.again').setAttribute('aria-label', `Restore ${photo.name} again with the current settings`);
  element.querySelector('.zoom').addEventListener('click', () => openZoom(photo));
  element.querySelector('.download').addEventListener('click', () => saveBlob(photo.resultURL, downloadName(photo.name)));
  element.querySelector('.download').setAttribute('aria-label', `Download ${downloadName(photo.name)}`);
  element.querySelector('.zoom').setAttribute('aria-label', `View the result for ${photo.name} at 100 %`);
  return element;
}

function setState(photo, state) {
  photo.state = state;
  renderPhoto(photo);
  updateToolbar();
}

/** Position of each of our photos the service is working on: the first is restoring, the rest queued. */
function waitingText(photo) {
  if (photo.fetchingResult) return 'Restored; fetching the result…';
  const ours = page.photos.filter((other) => other.state === 'waiting' && !other.fetchingResult)
    .sort((a, b) => (a.uploadedAt || 0) - (b.uploadedAt || 0));
  const queue = page.health && page.health.queue;
  const serverBusy = queue ? (queue.running ? 1 : 0) + queue.waiting : 0;
  const othersAhead = Math.max(0, serverBusy - ours.length);
  const position = othersAhead + ours.indexOf(photo);
  return position <= 0 ? 'Restoring…' : `Queued on the service: ${position} ahead of it.`;
}

const badges = {
  checking: 'Checking', ready: 'Ready', refused: 'Not sent', scheduled: 'Waiting',
  uploading: 'Uploading', waiting: 'Restoring', retrying: 'Busy', done: 'Done', failed: 'Failed',
};

function renderPhoto(photo) {
  const element = photo.element;
  if (!element) return;
  element.dataset.state = photo.state;
  const thumb = element.querySelector('.thumb-image');
  if (photo.previewURL && photo.size) {
    if (thumb.getAttribute('src') !== photo.previewURL) thumb.src = photo.previewURL;
    thumb.alt = `Original: ${photo.name}`;
    thumb.hidden = false;
    element.querySelector('.thumb').classList.remove('no-preview');
  } else if (photo.state !== 'checking') {
    thumb.hidden = true;
    element.querySelector('.thumb').classList.add('no-preview');
    element.querySelector('.thumb').dataset.text = 'No preview';
  }

  const meta = [];
  if (photo.format) meta.push(photo.format.toUpperCase());
  if (photo.size) meta.push(`${photo.size.width} × ${photo.size.height} px`);
  meta.push(formatBytes(photo.file.size));
  const note = largePhotoNote(photo.size, (photo.settings || currentSettings()).upscale, page.health && page.health.limits);
  element.querySelector('.photo-meta').textContent = meta.join(' · ') + (note && photo.state !== 'done' ? `. ${note}` : '');

  let badge = badges[photo.state] || photo.state;
  let text = '';
  switch (photo.state) {
    case 'checking': text = 'Reading the photo…'; break;
    case 'ready': text = photo.size ? 'Ready to restore.' : 'Ready. The browser cannot preview it; the service will say whether it can read it.'; break;
    case 'refused': text = photo.reason; break;
    case 'scheduled': text = 'Waiting for its turn to be sent.'; break;
    case 'uploading': {
      const { loaded, total } = photo.progress;
      const share = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
      text = `Uploading: ${share} % (${formatBytes(loaded)} of ${formatBytes(total)}).`;
      break;
    }
    case 'waiting':
      text = waitingText(photo);
      if (text.startsWith('Queued')) badge = 'Queued';
      break;
    case 'retrying': {
      const left = Math.max(0, Math.ceil((photo.retryAt - performance.now()) / 1000));
      text = `The service is busy (its queue is full). Retrying in ${left} s, as it advised (Retry-After: ${photo.retryAdvised} s); attempt ${photo.attempt + 1}; the page keeps trying for ${retryBudgetSeconds / 60} minutes.`;
      break;
    }
    case 'done': text = 'Restored.'; break;
    case 'failed': text = 'The service could not restore it:'; break;
    default: break;
  }
  element.querySelector('.badge').textContent = badge;
  element.querySelector('.status-text').textContent = text;

  const elapsed = element.querySelector('.elapsed');
  if (photo.startedAt) {
    const end = photo.finishedAt || performance.now();
    elapsed.textContent = formatDuration(end - photo.startedAt);
    elapsed.hidden = false;
  } else {
    elapsed.hidden = true;
  }

  const progress = element.querySelector('.upload-progress');
  progress.hidden = photo.state !== 'uploading';
  if (photo.state === 'uploading') {
    progress.max = Math.max(1, photo.progress.total);
    progress.value = photo.progress.loaded;
    progress.setAttribute('aria-label', `Upload of ${photo.name}`);
  }

  const error = element.querySelector('.photo-error');
  error.hidden = photo.state !== 'failed';
  error.textContent = photo.state === 'failed' ? photo.error : '';
  if (photo.state === 'failed') error.setAttribute('role', 'alert');

  const active = activeStates.has(photo.state) || photo.state === 'scheduled';
  element.querySelector('.cancel').hidden = !active;
  element.querySelector('.again').hidden = !(photo.state === 'done' || photo.state === 'failed');
}

function renderResult(photo) {
  const element = photo.element;
  const result = photo.result;
  const size = photo.resultSize || { width: 1, height: 1 };
  const slot = element.querySelector('.compare-slot');
  slot.replaceChildren(createComparison({
    beforeURL: photo.previewURL, afterURL: photo.resultURL, width: size.width, height: size.height, name: photo.name,
  }));

  const asked = photo.settings;
  const applied = result.applied || {};
  const rows = [
    ['Faces found', String(result.faces_found)],
    ['Faces restored', String(result.faces_restored)],
    ['Fidelity', String(applied.fidelity ?? asked.fidelity)],
    ['Upscale', applied.upscale !== undefined && applied.upscale !== asked.upscale
      ? `×${applied.upscale} (asked ×${asked.upscale})` : `×${applied.upscale ?? asked.upscale}`],
    ['Background', applied.background_enhance ? 'Real-ESRGAN' : 'plain resize'],
    ['Faces upsampled', applied.face_upsample ? 'yes' : 'no'],
    ['Result', `${size.width} × ${size.height} px, ${formatBytes(photo.resultBlob.size)}`],
    ['Time', formatDuration(photo.finishedAt - photo.startedAt)],
  ];
  const list = element.querySelector('.numbers');
  list.replaceChildren(...rows.map(([term, value]) => {
    const row = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dd.dataset.field = term.toLowerCase().replace(/ /g, '_');
    row.append(dt, dd);
    return row;
  }));

  const notes = [];
  if (result.faces_found === 0) notes.push('No face was found in this photo, so it was only upscaled.');
  else if (result.faces_restored < result.faces_found) notes.push(`${result.faces_found - result.faces_restored} face(s) could not be restored and were left as they were.`);
  if (applied.upscale !== undefined && applied.upscale !== asked.upscale) notes.push(`The service lowered the upscale from ×${asked.upscale} to ×${applied.upscale} because the photo is large.`);
  if ((asked.background_enhance && !applied.background_enhance) || (asked.face_upsample && !applied.face_upsample)) {
    notes.push('Real-ESRGAN was not used, because the photo is large.');
  }
  const noteElement = element.querySelector('.result-note');
  noteElement.hidden = notes.length === 0;
  noteElement.textContent = notes.join(' ');
  element.querySelector('.result').hidden = false;
}

function updateToolbar() {
  const photos = page.photos;
  const ready = photos.filter((photo) => photo.state === 'ready').length;
  const done = photos.filter((photo) => photo.state === 'done').length;
  const cannotRestore = page.health !== null && missingRequiredModels().length > 0;
  ui.restoreAll.disabled = ready === 0 || cannotRestore;
  ui.restoreAll.textContent = ready > 1 ? `Restore ${ready} photos` : 'Restore';
  ui.downloadAll.disabled = done === 0;
  ui.downloadAll.textContent = done > 1 ? `Download all (${done})` : 'Download all';
  ui.clearAll.disabled = photos.length === 0;
  ui.emptyNote.hidden = photos.length > 0;

  const working = photos.filter((photo) => activeStates.has(photo.state) || photo.state === 'scheduled');
  if (working.length) {
    const started = Math.min(...working.filter((photo) => photo.startedAt).map((photo) => photo.startedAt), performance.now());
    ui.workSummary.textContent = `Working: ${working.length} photo${working.length > 1 ? 's' : ''} to go, ${formatDuration(performance.now() - started)} so far.`;
  } else {
    ui.workSummary.textContent = done ? `${done} restored.` : '';
  }
}

/** Once a second while work is under way: elapsed times and retry countdowns. */
function startTicker() {
  if (page.ticker) return;
  page.ticker = window.setInterval(() => {
    const busy = page.photos.filter((photo) => activeStates.has(photo.state));
    for (const photo of busy) renderPhoto(photo);
    updateToolbar();
    if (busy.length === 0 && !page.photos.some((photo) => photo.state === 'scheduled')) {
      window.clearInterval(page.ticker);
      page.ticker = null;
    }
  }, 1000);
}

// ---------------------------------------------------------------- toolbar, settings, zoom

ui.restoreAll.addEventListener('click', () => {
  const ready = page.photos.filter((photo) => photo.state === 'ready');
  for (const photo of ready) schedule(photo);
  announce(`Restoring ${ready.length} photo${ready.length > 1 ? 's' : ''}.`);
  pump();
});

ui.downloadAll.addEventListener('click', async () => {
  const done = page.photos.filter((photo) => photo.state === 'done');
  const used = new Map();
  const entries = done.map((photo) => {
    let name = downloadName(photo.name);
    const count = used.get(name) || 0;
    used.set(name, count + 1);
    if (count > 0) name = name.replace(/_restored\.png$/, `_${count + 1}_restored.png`);
    return { name, blob: photo.resultBlob };
  });
  const zip = await makeZip(entries);
  const url = URL.createObjectURL(zip);
  saveBlob(url, 'facerestore_results.zip');
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
});

ui.clearAll.addEventListener('click', () => {
  for (const photo of [...page.photos]) remove(photo);
  announce('All photos removed.');
});

ui.fidelity.addEventListener('input', () => {
  ui.fidelityValue.textContent = Number(ui.fidelity.value).toFixed(2);
});

ui.settings.addEventListener('change', () => {
  for (const photo of page.photos) if (photo.state === 'ready') renderPhoto(photo);
});

ui.resetSettings.addEventListener('click', () => {
  ui.fidelity.value = String(defaults.fidelity);
  ui.fidelityValue.textContent = defaults.fidelity.toFixed(2);
  byId(`upscale-${defaults.upscale}`).checked = true;
  ui.background.checked = defaults.background_enhance;
  ui.faceUpsample.checked = defaults.face_upsample;
  announce('Settings reset to the defaults.');
});

function showZoomImage() {
  const { photo, original } = page.zoom;
  const size = photo.resultSize;
  ui.zoomImage.src = original ? photo.previewURL : photo.resultURL;
  ui.zoomImage.width = size.width;
  ui.zoomImage.height = size.height;
  ui.zoomImage.alt = original ? `Original: ${photo.name}, enlarged to the result's size` : `Restored: ${photo.name}, at 100 %`;
  ui.zoomToggle.setAttribute('aria-pressed', String(original));
  ui.zoomToggle.textContent = original ? 'Show result' : 'Show original';
  ui.zoomTitle.textContent = `${photo.name}: ${original ? 'original' : 'result'} at 100 %`;
}

function openZoom(photo) {
  page.zoom = { photo, original: false };
  showZoomImage();
  ui.zoomDialog.showModal();
  const viewport = ui.zoomViewport;
  viewport.scrollLeft = (photo.resultSize.width - viewport.clientWidth) / 2;
  viewport.scrollTop = (photo.resultSize.height - viewport.clientHeight) / 2;
  viewport.focus();
}

ui.zoomToggle.addEventListener('click', () => {
  page.zoom.original = !page.zoom.original;
  showZoomImage();
});
ui.zoomClose.addEventListener('click', () => ui.zoomDialog.close());
enableDragPanning(ui.zoomViewport);

// ---------------------------------------------------------------- start

ui.apiBase.textContent = apiBase;
if (apiProblem) showNotice(apiProblem);
updateToolbar();
pollHealth();
