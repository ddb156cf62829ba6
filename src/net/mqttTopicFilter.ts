/**
 * MQTT topic-filter matching (3.1.1 §4.7), done by the link itself: MQTT.js hands every
 * message to one 'message' event, and the link routes it to the handlers whose filters
 * match.
 */

/** MQTT topic-filter matching (3.1.1 §4.7): `+` one level, `#` the rest; wildcards skip `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * A filter split on '/' once, at subscribe time, or null when it has no wildcard (then
 * plain string equality decides, without splitting every incoming topic).
 */
export function filterLevels(filter: string): string[] | null {
  return filter.includes('+') || filter.includes('#') ? filter.split('/') : null;
}

/** `topicMatches` with the filter split once, at subscribe time. */
export function matchesLevels(levels: string[], topic: string): boolean {
  const t = topic.split('/');
  if ((levels[0] === '+' || levels[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return levels.length === t.length;
}
