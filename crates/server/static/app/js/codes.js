// Decimal codes people type (DESIGN.md, "Codes people type"): serials of
// 10 digits grouped in fives, PIN Reset Codes of 12 and unlock codes of 16
// grouped in fours, each ending in a Luhn check digit so that a typo is
// caught before anything is spent. Spaces and dashes are accepted anywhere.

/** The Luhn check digit (ISO/IEC 7812-1 Annex B) of a string of digits. */
export function luhnCheckDigit(payload) {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let digit = payload.charCodeAt(payload.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** Whether `digits` (check digit last) passes the Luhn check. */
export function luhnIsValid(digits) {
  if (!/^[0-9]{2,}$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

export const SERIAL = { name: "serial", length: 10, group: 5 };
export const ACTIVATION_CODE = { name: "activation code", length: 16, group: 4 };
export const RESET_CODE = { name: "PIN Reset Code", length: 12, group: 4 };
export const UNLOCK_CODE = { name: "unlock code", length: 16, group: 4 };

/**
 * Reads typed text as a code of `kind`: `{digits}` when it is complete and
 * its check digit agrees, else `{error, complete}` with a message that says
 * what to fix (`complete` is false while the person is still typing).
 */
export function parseCode(text, kind) {
  if (/[^0-9 \t-]/.test(text)) {
    return { error: "The code has digits only (spaces and dashes are fine).", complete: true };
  }
  const digits = text.replace(/[ \t-]/g, "");
  if (digits.length === 0) {
    return { error: `Enter the ${kind.length}-digit ${kind.name}.`, complete: false };
  }
  if (digits.length < kind.length) {
    return { error: `The ${kind.name} has ${kind.length} digits; ${digits.length} so far.`, complete: false };
  }
  if (digits.length > kind.length) {
    return { error: `The ${kind.name} has ${kind.length} digits, but ${digits.length} were entered.`, complete: true };
  }
  if (!luhnIsValid(digits)) {
    return {
      error: `The ${kind.name} has a typo (its check digit does not match): check each digit and type it again.`,
      complete: true,
    };
  }
  return { digits };
}

/** The digits in groups, separated by `separator`. */
export function grouped(digits, group, separator = "-") {
  const parts = [];
  for (let i = 0; i < digits.length; i += group) parts.push(digits.slice(i, i + group));
  return parts.join(separator);
}

/** Uniform random decimal digits from the browser's CSPRNG. */
export function randomDigits(count) {
  let out = "";
  const buffer = new Uint8Array(count * 2);
  while (out.length < count) {
    crypto.getRandomValues(buffer);
    for (const byte of buffer) {
      // 250 is the largest multiple of 10 below 256: no digit is favoured.
      if (byte < 250 && out.length < count) out += String(byte % 10);
    }
  }
  return out;
}

/** A new random PIN Reset Code: 11 random digits and the check digit. */
export function newResetCode() {
  const payload = randomDigits(RESET_CODE.length - 1);
  return payload + luhnCheckDigit(payload);
}

/**
 * A PIN Reset Code for a slot made from unlock-secret generation
 * `generation` (SECURITY.md S45), as latchkey-oath's `tagged_reset_code`:
 * 8 random digits, `generation mod 1000` as 3 digits, the check digit. The
 * server reads the tag to pick the secret that answers the code.
 */
export function taggedResetCode(generation, random = randomDigits(8)) {
  if (!/^[0-9]{8}$/.test(random)) throw new Error("a reset code takes 8 random digits");
  if (!Number.isSafeInteger(generation) || generation < 0) throw new Error("a generation is a whole number");
  const payload = random + String(generation % 1000).padStart(3, "0");
  return payload + luhnCheckDigit(payload);
}

/** A new random recovery code, shaped like an unlock code. */
export function newRecoveryCode() {
  const payload = randomDigits(UNLOCK_CODE.length - 1);
  return payload + luhnCheckDigit(payload);
}
