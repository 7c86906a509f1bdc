// store.js - conversations kept in the browser's localStorage, so a reload
// (or a restarted server) finds them again.  One key holds the list; a
// broken or foreign value there is ignored rather than breaking the page.
const KEY = 'tinylm.conversations.v1';
const SETTINGS_KEY = 'tinylm.settings.v1';

function readJSON(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

export function loadConversations() {
  const v = readJSON(KEY, []);
  return Array.isArray(v) ? v.filter((c) => c && c.id && Array.isArray(c.messages)) : [];
}

export function saveConversations(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    // Quota full: keep working in memory; the newest state is still shown.
  }
}

export function newConversation(mode) {
  return { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    title: '', created: Date.now(), mode, messages: [] };
}

export function loadSettings(defaults) {
  const v = readJSON(SETTINGS_KEY, {});
  return { ...defaults, ...(typeof v === 'object' ? v : {}) };
}

export function saveSettings(s) {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // Same as above: settings simply do not persist.
  }
}
