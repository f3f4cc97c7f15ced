// HOTP (RFC 4226) and TOTP (RFC 6238) over WebCrypto's HMAC, the base32 of
// key URIs (RFC 4648 §6), hex, and the unlock-code derivation shared with
// the server (DESIGN.md, "Unlock code derivation").

import { luhnCheckDigit } from "./codes.js";

const HASHES = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

/** WebCrypto's name for a vault's hash name (SHA1, SHA256, SHA512). */
export function hashName(algorithm) {
  const name = HASHES[String(algorithm).toUpperCase().replace("-", "")];
  if (!name) throw new Error(`unknown hash ${algorithm}`);
  return name;
}

/** HMAC(key, message) with the named hash, as bytes. */
export async function hmac(algorithm, key, message) {
  const handle = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: hashName(algorithm) }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", handle, message));
}

/** RFC 4226 §5.3 dynamic truncation: 31 bits at the offset the last nibble names. */
export function dynamicTruncation(mac) {
  const offset = mac[mac.length - 1] & 0x0f;
  return (
    (((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3]) >>> 0
  );
}

/** HOTP(K, C) as the zero-padded decimal string (RFC 4226 §5.3). */
export async function hotp(key, counter, digits = 6, algorithm = "SHA1") {
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const value = dynamicTruncation(await hmac(algorithm, key, message));
  return String(value % 10 ** digits).padStart(digits, "0");
}

/** TOTP at `unixTime` seconds (RFC 6238 §4.2, T0 = 0). */
export async function totp(key, unixTime, digits = 8, period = 30, algorithm = "SHA256") {
  return hotp(key, Math.floor(unixTime / period), digits, algorithm);
}

/** Seconds until the TOTP code shown at `unixTime` changes. */
export function secondsLeft(unixTime, period = 30) {
  return period - (Math.floor(unixTime) % period);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Base32 (RFC 4648 §6) without padding, any case, spaces ignored. */
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const index = BASE32.indexOf(ch);
    if (index < 0) throw new Error("the secret is not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of hex text; throws on anything else. */
export function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error("not hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();

/**
 * The unlock code that opens a token showing `resetCode`:
 * HMAC-SHA-256(unlock_secret, "latchkey-unlock-v1" 0x00 serial 0x00 reset_code),
 * its first 8 bytes as a big-endian integer mod 10^15, 15 digits and a Luhn digit.
 */
export async function unlockCode(unlockSecret, serial, resetCode) {
  const message = encoder.encode(`latchkey-unlock-v1\u0000${serial}\u0000${resetCode}`);
  const mac = await hmac("SHA256", unlockSecret, message);
  const head = new DataView(mac.buffer).getBigUint64(0);
  const payload = String(head % 10n ** 15n).padStart(15, "0");
  return payload + luhnCheckDigit(payload);
}
