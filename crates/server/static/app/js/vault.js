// The soft token's vault record, the same as latchkey-token's (DESIGN.md,
// "The soft token vault"): the seed only masked, `seed XOR KDF(PIN, salt)`,
// beside a 10-bit check value; unlock slots mask the same seed under unlock
// codes the app never keeps. Browsers have no Argon2id, so records made here
// name PBKDF2-HMAC-SHA-256, which latchkey-token reads too.

import { newRecoveryCode, RESET_CODE, luhnIsValid, taggedResetCode } from "./codes.js";
import { base32Decode, fromHex, toHex, unlockCode } from "./oath.js";

export const FORMAT = "latchkey-token-vault";
export const VERSION = 1;
export const PIN_CHECK_BITS = 10;
export const CODE_CHECK_BITS = 32;
export const DEFAULT_UNLOCK_SLOTS = 10;
export const FEW_SLOTS = 3;
/** OWASP's floor for PBKDF2-HMAC-SHA-256, and the least a record may name. */
export const PBKDF2_MIN_ITERATIONS = 600000;
export const PBKDF2_MAX_ITERATIONS = 10000000;

const encoder = new TextEncoder();
const CHECK_DOMAIN = encoder.encode("latchkey-vault-check-v1\u0000");

/** Whether a record's `kdf` is one this app can compute. */
export function kdfProblem(kdf) {
  if (!kdf || typeof kdf !== "object") return "it has no key-derivation parameters";
  if (kdf.algorithm !== "pbkdf2-sha256") {
    return "it is protected with Argon2id, which browsers cannot compute; make it with PBKDF2 (see docs/phone-app.md)";
  }
  const n = kdf.iterations;
  if (!Number.isInteger(n) || n < PBKDF2_MIN_ITERATIONS || n > PBKDF2_MAX_ITERATIONS) {
    return "its PBKDF2 iteration count is out of range";
  }
  return null;
}

/** PBKDF2-HMAC-SHA-256(secret, salt, iterations) stretched to `length` bytes. */
export async function pbkdf2(secret, salt, iterations, length) {
  const key = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

async function derive(kdf, secret, salt, seedLen) {
  const out = await pbkdf2(encoder.encode(secret), salt, kdf.iterations, seedLen + 32);
  return { mask: out.slice(0, seedLen), checkKey: out.slice(seedLen) };
}

/** The first `bits` bits of HMAC-SHA-256(checkKey, domain || seed). */
export async function checkValue(checkKey, seed, bits) {
  const key = await crypto.subtle.importKey("raw", checkKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const message = new Uint8Array(CHECK_DOMAIN.length + seed.length);
  message.set(CHECK_DOMAIN);
  message.set(seed, CHECK_DOMAIN.length);
  const tag = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  const word = new DataView(tag.buffer).getUint32(0);
  return bits >= 32 ? word : word >>> (32 - bits);
}

function xor(a, b) {
  return a.map((byte, i) => byte ^ b[i]);
}

/** Masks `seed` under `secret` (text) with a fresh random salt. */
export async function seal(kdf, secret, seed, bits) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const derived = await derive(kdf, secret, salt, seed.length);
  return {
    salt: toHex(salt),
    masked_seed: toHex(xor(seed, derived.mask)),
    check: await checkValue(derived.checkKey, seed, bits),
  };
}

/** The seed `mask` gives under `secret` if its check value agrees, else null. */
export async function open(kdf, mask, secret, bits) {
  const salt = fromHex(mask.salt);
  const masked = fromHex(mask.masked_seed);
  const derived = await derive(kdf, secret, salt, masked.length);
  const seed = xor(masked, derived.mask);
  const check = await checkValue(derived.checkKey, seed, bits);
  derived.mask.fill(0);
  if (check === mask.check) return seed;
  seed.fill(0);
  return null;
}

// PINs people choose most often that are neither one digit repeated nor a
// straight run; the same list as latchkey-token's.
const COMMON_PINS = new Set([
  "121212", "112233", "123123", "123321", "654123", "159753", "147258", "258369", "789456", "101010",
  "131313", "696969", "111222", "222333", "520520", "147852", "159357", "753951", "102030", "100200",
  "007007", "012012", "696696", "112211", "121314", "131415", "123654", "321654", "000123", "999888",
  "11223344", "12341234", "12121212", "19901990", "20002000", "13579135", "24682468", "147258369",
  "123123123", "789456123",
]);

/** Why a new PIN is refused under `policy`, or null if it may be used. */
export function pinProblem(pin, again, policy) {
  if (pin !== again) return "The two PINs you typed differ.";
  const least = Math.max(policy?.min_length ?? 6, 6);
  if (!/^[0-9]+$/.test(pin)) return "A PIN has digits only.";
  if (pin.length < least) return `A PIN needs at least ${least} digits.`;
  if (pin.length > 64) return "A PIN has at most 64 digits.";
  if ([...pin].every((d) => d === pin[0])) return "A PIN made of one digit repeated is too easy to guess.";
  const steps = [];
  for (let i = 1; i < pin.length; i++) steps.push((pin.charCodeAt(i) - pin.charCodeAt(i - 1) + 10) % 10);
  if (steps.every((s) => s === 1) || steps.every((s) => s === 9)) {
    return "A PIN that counts up or down is too easy to guess.";
  }
  if (COMMON_PINS.has(pin)) return "That PIN is one of the most commonly chosen; choose a less predictable one.";
  return null;
}

/** Whether the record refuses every PIN. */
export function isLocked(record) {
  return record.failures >= record.policy.max_failures;
}

/** Wrong PINs still allowed. */
export function attemptsLeft(record) {
  return Math.max(record.policy.max_failures - record.failures, 0);
}

/** `Issuer: label` or the label alone. */
export function displayName(record) {
  return record.issuer ? `${record.issuer}: ${record.label}` : record.label;
}

/** The PIN Reset Code of the slot in use, or null. */
export function resetCode(record) {
  return record.slots.length > 0 ? record.slots[0].reset_code : null;
}

/** Why a record (from a file or from storage) cannot be used, or null. */
export function recordProblem(record) {
  if (!record || record.format !== FORMAT) return "it is not a Latchkey token vault";
  if (record.version !== VERSION) return `it has vault format version ${record.version}, and this app reads version ${VERSION}`;
  const kdf = kdfProblem(record.kdf);
  if (kdf) return kdf;
  if (typeof record.id !== "string" || record.id === "") return "it has no id";
  const shortest = record.recovery ? 1 : 16;
  if (!Number.isInteger(record.seed_len) || record.seed_len < shortest || record.seed_len > 128) {
    return "its seed length is out of range";
  }
  const otp = record.otp ?? {};
  if (!["totp", "hotp"].includes(otp.kind) || !["SHA1", "SHA256", "SHA512"].includes(otp.algorithm)) {
    return "its one-time password parameters are out of range";
  }
  if (!Number.isInteger(otp.digits) || otp.digits < 6 || otp.digits > 10) {
    return "its one-time password parameters are out of range";
  }
  if (otp.kind === "totp" && !(Number.isInteger(otp.period) && otp.period > 0)) {
    return "its one-time password parameters are out of range";
  }
  const wellFormed = (mask) => {
    try {
      return fromHex(mask.salt).length >= 8 && fromHex(mask.masked_seed).length === record.seed_len &&
        Number.isInteger(mask.check);
    } catch {
      return false;
    }
  };
  if (!record.pin || !wellFormed(record.pin)) return "its PIN entry is damaged";
  if (!Array.isArray(record.slots)) return "its unlock slots are damaged";
  for (const slot of record.slots) {
    if (!/^[0-9]{12}$/.test(slot.reset_code ?? "") || !luhnIsValid(slot.reset_code) || !wellFormed(slot.mask ?? {})) {
      return "one of its unlock slots is damaged";
    }
  }
  if (record.recovery && !wellFormed(record.recovery)) return "its recovery entry is damaged";
  if (!record.policy || !(record.policy.max_failures > 0)) return "its PIN policy is out of range";
  if (!Number.isInteger(record.failures) || record.failures < 0) return "its failure count is damaged";
  return null;
}

/** The KDF new records get. */
export function newKdf() {
  return { algorithm: "pbkdf2-sha256", iterations: PBKDF2_MIN_ITERATIONS };
}

/**
 * The record for an activation the server answered: the seed under the PIN,
 * and one unlock slot per PIN Reset Code, each masking the seed under the
 * unlock code the server will derive for it. The unlock secret and the
 * unlock codes are used here and then dropped; only the masks are kept.
 */
export async function recordFromActivation(answer, server, pin) {
  const seed = base32Decode(answer.secret);
  const unlockSecret = fromHex(answer.unlock_secret ?? "");
  if (seed.length < 16) throw new Error("the server sent a secret shorter than 128 bits");
  if (unlockSecret.length !== 32) throw new Error("the server sent no unlock secret for a soft token");
  const kdf = newKdf();
  const policy = {
    max_failures: answer.policy.max_pin_failures,
    min_length: answer.policy.min_pin_length,
  };
  const count = answer.policy.unlock_slots > 0 ? answer.policy.unlock_slots : DEFAULT_UNLOCK_SLOTS;
  const otp =
    answer.otp.kind === "hotp"
      ? { kind: "hotp", algorithm: answer.otp.algorithm, digits: answer.otp.digits, counter: answer.otp.counter ?? 0 }
      : { kind: "totp", algorithm: answer.otp.algorithm, digits: answer.otp.digits, period: answer.otp.period ?? 30 };
  // Activation hands out generation 0, the secret issued with the token.
  // WebCrypto runs the derivations off the main thread, side by side.
  const [pinMask, slots] = await Promise.all([
    seal(kdf, pin, seed, PIN_CHECK_BITS),
    makeSlots(kdf, unlockSecret, 0, answer.serial, seed, count),
  ]);
  unlockSecret.fill(0);
  const record = {
    format: FORMAT,
    version: VERSION,
    id: answer.serial,
    serial: answer.serial,
    label: answer.label,
    issuer: answer.issuer ?? null,
    server,
    otp,
    kdf,
    seed_len: seed.length,
    pin: pinMask,
    policy,
    failures: 0,
    slots,
    recovery: null,
  };
  seed.fill(0);
  return record;
}

/** The PIN policy of a token with no server behind it (latchkey-token's default). */
export const IMPORTED_POLICY = { max_failures: 5, min_length: 6 };

/**
 * The record for a key read from an `otpauth://` URI, as `latchkey-token
 * import URI` makes it: no serial and no server, so no unlock slots; the
 * seed masked under the PIN and under a new recovery code instead, which
 * is returned to be shown once and is never stored. `key.secret` stays the
 * caller's, to show the first code with and then wipe.
 */
export async function recordFromKeyUri(key, pin) {
  const seed = key.secret;
  if (seed.length > 128) throw new Error("the URI's secret is longer than 128 bytes");
  const kdf = newKdf();
  const recovery = newRecoveryCode();
  const otp =
    key.kind === "hotp"
      ? { kind: "hotp", algorithm: key.algorithm, digits: key.digits, counter: key.counter }
      : { kind: "totp", algorithm: key.algorithm, digits: key.digits, period: key.period };
  const [pinMask, recoveryMask] = await Promise.all([
    seal(kdf, pin, seed, PIN_CHECK_BITS),
    seal(kdf, recovery, seed, CODE_CHECK_BITS),
  ]);
  const nonce = crypto.getRandomValues(new Uint8Array(4));
  const record = {
    format: FORMAT,
    version: VERSION,
    id: `imported-${toHex(nonce)}`,
    serial: null,
    label: key.account,
    issuer: key.issuer ?? null,
    server: null,
    otp,
    kdf,
    seed_len: seed.length,
    pin: pinMask,
    policy: { ...IMPORTED_POLICY },
    failures: 0,
    slots: [],
    recovery: recoveryMask,
  };
  return { record, recovery };
}

/**
 * `count` unlock slots from unlock-secret generation `generation`: each a
 * PIN Reset Code that names the generation, and the seed masked under the
 * unlock code the server derives for it.
 */
export function makeSlots(kdf, unlockSecret, generation, serial, seed, count) {
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const reset = taggedResetCode(generation);
    jobs.push(
      unlockCode(unlockSecret, serial, reset).then(async (code) => ({
        reset_code: reset,
        mask: await seal(kdf, code, seed, CODE_CHECK_BITS),
      })),
    );
  }
  return Promise.all(jobs);
}

/**
 * After a refresh the server answered (`{generation, unlock_secret}`): a
 * full new set of slots from the new generation, replacing every old one
 * (SECURITY.md S45). The caller writes the record in one transaction; the
 * secret is wiped here.
 */
export async function applyRefresh(record, seed, answer) {
  const unlockSecret = fromHex(answer.unlock_secret ?? "");
  const generation = answer.generation ?? 0;
  if (unlockSecret.length !== 32) throw new Error("the server sent no unlock secret");
  if (!Number.isSafeInteger(generation) || generation < 0) throw new Error("the server sent a malformed generation");
  const count = Math.max(DEFAULT_UNLOCK_SLOTS, record.slots.length);
  try {
    record.slots = await makeSlots(record.kdf, unlockSecret, generation, record.serial, seed, count);
  } finally {
    unlockSecret.fill(0);
  }
  record.failures = 0;
  return record.slots.length;
}

/** Opens the mask an unlock (or recovery) code opens; the seed or null. */
export async function openWithCode(record, code) {
  const mask = record.recovery ?? record.slots[0]?.mask;
  if (!mask) return null;
  return open(record.kdf, mask, code, CODE_CHECK_BITS);
}

/**
 * After an unlock: the seed under the new PIN, the spent slot gone (or, for
 * an imported token, a new recovery code), the count cleared. The caller
 * writes the result in one transaction. Returns the new recovery code, if any.
 */
export async function applyUnlock(record, seed, newPin) {
  record.pin = await seal(record.kdf, newPin, seed, PIN_CHECK_BITS);
  let recovery = null;
  if (record.recovery) {
    recovery = newRecoveryCode();
    record.recovery = await seal(record.kdf, recovery, seed, CODE_CHECK_BITS);
  } else {
    record.slots.shift();
  }
  record.failures = 0;
  return recovery;
}

export { RESET_CODE };
