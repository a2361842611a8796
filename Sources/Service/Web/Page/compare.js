// The before/after comparison: the original and the result stacked, the original clipped at a
// divider. The divider is a native range input laid over the pictures, so a pointer drags it and
// the keyboard and screen readers work it like any slider. On narrow screens the CSS shows the two
// side by side instead.

/**
 * An element comparing `beforeURL` (the original) with `afterURL` (the result), `width` × `height`
 * being the result's size. `name` goes into the alt texts.
 */
export function createComparison({ beforeURL, afterURL, width, height, name }) {
  const root = document.createElement('div');
  root.className = 'compare';
  root.style.setProperty('--ratio', String(width / height));
  root.style.setProperty('--position', '50%');

  const frame = document.createElement('div');
  frame.className = 'compare-frame';

  const after = document.createElement('img');
  after.className = 'compare-after';
  after.src = afterURL;
  after.alt = `Restored: ${name}`;
  after.width = width;
  after.height = height;

  const before = document.createElement('img');
  before.className = 'compare-before';
  before.src = beforeURL;
  before.alt = `Original: ${name}`;
  before.width = width;
  before.height = height;

  const range = document.createElement('input');
  range.type = 'range';
  range.className = 'compare-range';
  range.min = '0';
  range.max = '100';
  range.step = '1';
  range.value = '50';
  range.setAttribute('aria-label', `Comparison divider for ${name}: how much of the original is shown, from the left`);
  range.setAttribute('aria-valuetext', '50 % original');
  range.addEventListener('input', () => {
    root.style.setProperty('--position', `${range.value}%`);
    range.setAttribute('aria-valuetext', `${range.value} % original`);
  });

  const divider = document.createElement('div');
  divider.className = 'compare-divider';
  divider.setAttribute('aria-hidden', 'true');

  const beforeTag = document.createElement('span');
  beforeTag.className = 'compare-tag compare-tag-before';
  beforeTag.textContent = 'Before';
  beforeTag.setAttribute('aria-hidden', 'true');
  const afterTag = document.createElement('span');
  afterTag.className = 'compare-tag compare-tag-after';
  afterTag.textContent = 'After';
  afterTag.setAttribute('aria-hidden', 'true');

  frame.append(after, before, range, divider, beforeTag, afterTag);
  root.append(frame);
  return root;
}

/** Lets a pointer pan a scrolling element by dragging (the keyboard scrolls it natively). */
export function enableDragPanning(viewport) {
  let drag = null;
  viewport.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
    viewport.setPointerCapture(event.pointerId);
    viewport.classList.add('dragging');
    event.preventDefault();
  });
  viewport.addEventListener('pointermove', (event) => {
    if (!drag) return;
    viewport.scrollLeft = drag.left - (event.clientX - drag.x);
    viewport.scrollTop = drag.top - (event.clientY - drag.y);
  });
  const end = () => {
    drag = null;
    viewport.classList.remove('dragging');
  };
  viewport.addEventListener('pointerup', end);
  viewport.addEventListener('pointercancel', end);
}
