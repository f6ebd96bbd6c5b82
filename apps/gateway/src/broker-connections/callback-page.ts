import type { CallbackOutcome } from './broker-connections.service.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * The small HTML page the OAuth callback answers: what happened, in a title and a sentence. It never carries
 * the code, the state or a token; the response headers keep it out of caches and its URL out of `Referer`.
 */
export function callbackPage(outcome: CallbackOutcome): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(outcome.title)}</title></head>
<body><h1>${escape(outcome.title)}</h1><p>${escape(outcome.message)}</p></body></html>
`;
}

export const CALLBACK_PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'",
} as const;
