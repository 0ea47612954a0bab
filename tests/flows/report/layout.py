"""JavaScript the browser tests evaluate in a rendered report (measurements, no changes but
opening details)."""

from __future__ import annotations

# Every rendered element whose box reaches past the window's left or right edge, unless an
# ancestor clips it (a table that scrolls inside its own box does not widen the page).
OVERFLOWING = """(() => {
  const limit = document.documentElement.clientWidth;
  const clips = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > limit + 0.5 || r.left < -0.5) && !clips(el)) {
      const css = typeof el.className === 'string' && el.className ? '.' + el.className : '';
      found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${css}` +
        ` [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
  }
  return {scroll_width: document.documentElement.scrollWidth, width: limit,
          inner_width: window.innerWidth, overflowing: found.slice(0, 12),
          n_overflowing: found.length};
})()"""

PAGE_HEIGHT = "document.documentElement.scrollHeight"
TABLE_ROWS = "document.querySelectorAll('tr').length"
# Rows a reader sees without opening anything: not inside a folded <details>.
VISIBLE_TABLE_ROWS = (
    "Array.from(document.querySelectorAll('tr'))"
    ".filter(r => !r.closest('details:not([open])')).length"
)

# Open every folded <details>; each one's height before and after.
OPEN_DETAILS = """(() => Array.from(document.querySelectorAll('details:not([open])')).map(d => {
  const before = d.getBoundingClientRect().height; d.open = true;
  return [before, d.getBoundingClientRect().height]; }))()"""

# The bottom edge (page coordinates) of the primary-outcome lines and scorecard assumptions.
FIRST_SCREEN = """(() => {
  const bottom = sel => Array.from(document.querySelectorAll(sel)).map(e =>
      e.getBoundingClientRect().bottom + window.scrollY);
  return {outcomes: bottom('section#findings li.primary-outcome'),
          assumptions: bottom('#scorecard-summary .assumption')};
})()"""

# Each section: id, length of its text, length of its heading's text, its text.
SECTION_TEXTS = """Array.from(document.querySelectorAll('section[id]')).map(s =>
  [s.id, s.innerText.trim().length, (s.querySelector('h2') || {innerText: ''}).innerText.length,
   s.innerText.replace(/\\s+/g, ' ').trim()])"""
