// Runs the published known answers through the app's own code, in this
// browser, and shows each result; the browser tests read the table.

import { luhnIsValid, taggedResetCode } from "./codes.js";
import { fromHex, hotp, toHex, totp, unlockCode } from "./oath.js";
import { pbkdf2 } from "./vault.js";
import { HOTP, LUHN_INVALID, LUHN_VALID, PBKDF2, RESET_TAG, TOTP, UNLOCK } from "./vectors.js";

const encoder = new TextEncoder();

function rfcKey(length) {
  return encoder.encode("1234567890".repeat(7).slice(0, length));
}

async function results() {
  const out = [];
  const hotpKey = encoder.encode("12345678901234567890");
  for (const [id, counter, expected] of HOTP) {
    out.push({ id, expected, got: await hotp(hotpKey, counter, 6, "SHA1") });
  }
  for (const [id, hash, keyLength, time, expected] of TOTP) {
    out.push({ id, expected, got: await totp(rfcKey(keyLength), time, 8, 30, hash) });
  }
  for (const [id, secret, serial, reset, expected] of UNLOCK) {
    out.push({ id, expected, got: await unlockCode(fromHex(secret), serial, reset) });
  }
  for (const [id, random, generation, expected] of RESET_TAG) {
    out.push({ id, expected, got: taggedResetCode(generation, random) });
  }
  for (const digits of LUHN_VALID) out.push({ id: `luhn-valid-${digits}`, expected: "valid", got: luhnIsValid(digits) ? "valid" : "invalid" });
  for (const digits of LUHN_INVALID) out.push({ id: `luhn-invalid-${digits}`, expected: "invalid", got: luhnIsValid(digits) ? "valid" : "invalid" });
  for (const [id, password, salt, iterations, length, expected] of PBKDF2) {
    const got = toHex(await pbkdf2(encoder.encode(password), encoder.encode(salt), iterations, length));
    out.push({ id, expected, got });
  }
  return out;
}

async function run() {
  const body = document.getElementById("results");
  let failed = 0;
  let all;
  try {
    all = await results();
  } catch (error) {
    document.getElementById("summary").textContent = `The known answers could not run: ${error.message}`;
    document.getElementById("summary").dataset.failed = "error";
    return;
  }
  for (const { id, expected, got } of all) {
    const ok = expected === got;
    if (!ok) failed += 1;
    const row = document.createElement("tr");
    row.dataset.id = id;
    row.dataset.ok = String(ok);
    for (const text of [id, expected, got, ok ? "pass" : "FAIL"]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
  const summary = document.getElementById("summary");
  summary.textContent = `${all.length - failed} of ${all.length} known answers agree.`;
  summary.dataset.total = String(all.length);
  summary.dataset.failed = String(failed);
}

run();
