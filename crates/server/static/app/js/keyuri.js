// `otpauth://` key URIs (the Google Authenticator key-URI format), read as
// latchkey-oath's KeyUri::parse reads them, with the same rules and the same
// messages: a token imported here is the token `latchkey-token import URI`
// would make from the same text.
//
//   otpauth://TYPE/LABEL?secret=…&issuer=…&algorithm=…&digits=…&period=…&counter=…

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const encoder = new TextEncoder();

/** What is wrong with a key URI; `message` says it in latchkey-oath's words. */
export class KeyUriError extends Error {}

function fail(message) {
  throw new KeyUriError(message);
}

/**
 * Base32 (RFC 4648 §6) as latchkey-oath decodes a key's secret: any case,
 * spaces, tabs and dashes skipped, `=` padding at the end only, stray bits
 * in the last symbol accepted (RFC 4648 §3.5).
 */
export function decodeSecret(text) {
  const trimmed = text.replace(/[=\s]+$/u, "");
  if (/^[ \t-]*$/.test(trimmed)) fail("the URI's secret is not valid base32: the secret is empty");
  if (trimmed.includes("=")) {
    fail("the URI's secret is not valid base32: the secret contains a character that is not base32 (A–Z, 2–7)");
  }
  const symbols = trimmed.replace(/[ \t-]/g, "").toUpperCase();
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of symbols) {
    const index = BASE32.indexOf(ch);
    if (index < 0) {
      fail("the URI's secret is not valid base32: the secret contains a character that is not base32 (A–Z, 2–7)");
    }
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  // A group of 8 symbols ends after 0, 2, 4, 5 or 7 of them: 1, 3 or 6
  // trailing symbols are a length no encoding can have.
  if ([1, 3, 6].includes(symbols.length % 8)) {
    out.fill(0);
    fail("the URI's secret is not valid base32: the secret has a length no base32 encoding can have");
  }
  return new Uint8Array(out);
}

/** `%XX` escapes decoded as UTF-8 (malformed bytes become U+FFFD); `+` stays `+`. */
function percentDecode(text) {
  const bytes = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const point = String.fromCodePoint(text.codePointAt(i));
      bytes.push(...encoder.encode(point));
      i += point.length;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The text between `otpauth://TYPE/` and the query or fragment, as written. */
function rawLabel(text) {
  const at = text.indexOf("://");
  const afterScheme = at < 0 ? "" : text.slice(at + 3);
  const slash = afterScheme.indexOf("/");
  const path = slash < 0 ? "" : afterScheme.slice(slash + 1);
  return path.split(/[?#]/)[0];
}

/** A whole number as Rust's `parse::<u64>()` reads one (a leading `+` allowed). */
function wholeNumber(text) {
  if (!/^\+?[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Reads an `otpauth://` URI: `{kind, account, issuer, secret, algorithm,
 * digits, period | counter}`, or throws a KeyUriError that says what to fix.
 * Unknown parameters (such as `image`) are ignored.
 */
export function parseKeyUri(input) {
  const text = input.trim();
  let url;
  try {
    url = new URL(text);
  } catch {
    fail("this is not a URI");
  }
  if (url.protocol !== "otpauth:") fail("the URI must start with otpauth://");
  const kindName = url.host.toLowerCase();
  // The label is read from the text as written, as latchkey-oath does: the
  // issuer prefix ends at the first literal colon, else at an encoded one.
  const raw = rawLabel(text);
  let split = null;
  const colon = raw.indexOf(":");
  if (colon >= 0) split = [raw.slice(0, colon), raw.slice(colon + 1)];
  else {
    const encoded = raw.toLowerCase().indexOf("%3a");
    if (encoded >= 0) split = [raw.slice(0, encoded), raw.slice(encoded + 3)];
  }
  let labelIssuer = null;
  let account;
  if (split === null) account = percentDecode(raw);
  else if (split[0] === "") account = percentDecode(split[1]);
  else {
    labelIssuer = percentDecode(split[0]);
    account = percentDecode(split[1]).trimStart();
  }
  if (account.trim() === "") fail("the URI has no account name in its label");

  const params = {};
  for (const [key, value] of url.searchParams) {
    if (!["secret", "issuer", "algorithm", "digits", "period", "counter"].includes(key)) continue;
    if (key in params) fail(`the URI gives the parameter ${key} more than once`);
    params[key] = value;
  }

  const key = { account };
  if (kindName === "totp") {
    key.kind = "totp";
    key.period = params.period === undefined ? 30 : wholeNumber(params.period);
    if (!key.period) fail("the URI's period must be a positive number of seconds");
  } else if (kindName === "hotp") {
    key.kind = "hotp";
    key.counter = params.counter === undefined ? null : wholeNumber(params.counter);
    if (key.counter === null) fail("an hotp URI needs a counter that is a whole number");
  } else {
    fail("the URI's type must be totp or hotp");
  }
  if (params.secret === undefined) fail("the URI has no secret");
  const secret = decodeSecret(params.secret);
  const algorithm = (params.algorithm ?? "SHA1").toUpperCase().replaceAll("-", "");
  if (!["SHA1", "SHA256", "SHA512"].includes(algorithm)) {
    secret.fill(0);
    fail("the URI's algorithm must be SHA1, SHA256 or SHA512");
  }
  const digits = params.digits === undefined ? 6 : wholeNumber(params.digits);
  if (digits === null || digits < 6 || digits > 10) {
    secret.fill(0);
    fail("the URI's digits must be a number from 6 to 10");
  }
  const fromLabel = labelIssuer || null;
  const fromParam = params.issuer || null;
  if (fromLabel && fromParam && fromLabel !== fromParam) {
    secret.fill(0);
    fail("the URI's label and issuer parameter name different issuers");
  }
  return { ...key, issuer: fromParam ?? fromLabel, secret, algorithm, digits };
}
