// The app's screens: the token list, activation, the PIN, the code with its
// countdown, the locked token with its PIN Reset Code and the unlock code,
// the new PIN, and a token added from an otpauth:// key URI. Every PIN
// attempt is counted in storage before it is checked.

import { ACTIVATION_CODE, grouped, parseCode, SERIAL, UNLOCK_CODE } from "./codes.js";
import { KeyUriError, parseKeyUri } from "./keyuri.js";
import { base32Decode, hotp, secondsLeft, totp } from "./oath.js";
import { serverUrl } from "./server.js";
import * as store from "./store.js";
import {
  applyRefresh,
  applyUnlock,
  attemptsLeft,
  displayName,
  FEW_SLOTS,
  IMPORTED_POLICY,
  isLocked,
  open,
  openWithCode,
  PIN_CHECK_BITS,
  pinProblem,
  recordFromActivation,
  recordFromKeyUri,
  recordProblem,
  resetCode,
} from "./vault.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["view-list", "view-activate", "view-key-uri", "view-pin", "view-code", "view-locked", "view-new-pin"];

// What is open now: the token's id, and while a code or a new PIN is on
// screen, its seed (wiped when the screen is left).
const current = { id: null, seed: null, timer: null, unlocking: false };

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
  if (view !== "view-code" && view !== "view-new-pin") forgetSeed();
  const first = $(view).querySelector("textarea, input:not([type=file]), button.primary");
  if (first) first.focus();
}

function forgetSeed() {
  if (current.timer) clearInterval(current.timer);
  current.timer = null;
  if (current.seed) current.seed.fill(0);
  current.seed = null;
  $("otp").textContent = "";
  delete $("otp").dataset.code;
  $("recovery-block").hidden = true;
  $("recovery-code").textContent = "";
  $("export-link").hidden = true;
  const href = $("export-link").getAttribute("href");
  if (href) URL.revokeObjectURL(href);
  $("export-link").removeAttribute("href");
}

function message(text) {
  $("app-message").textContent = text ?? "";
  $("app-message").hidden = !text;
}

function status(id, text, state = "") {
  $(id).textContent = text;
  $(id).dataset.state = state;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---- the list ----

async function showList() {
  message(null);
  const entries = await store.list();
  const list = $("tokens");
  list.replaceChildren();
  for (const entry of entries) {
    const item = document.createElement("li");
    item.className = "token";
    item.dataset.id = entry.id;
    const name = document.createElement("span");
    name.className = "token-name";
    const state = document.createElement("span");
    state.className = "token-state";
    if (entry.error) {
      name.textContent = entry.id;
      state.textContent = entry.error;
      item.append(name, state);
    } else {
      const r = entry.record;
      name.textContent = displayName(r);
      const serial = r.serial ? grouped(r.serial, SERIAL.group) : "imported";
      state.textContent = `${serial} · ${isLocked(r) ? "locked" : "active"}`;
      item.dataset.state = isLocked(r) ? "locked" : "active";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "open-token primary";
      button.textContent = isLocked(r) ? "Unlock" : "Show code";
      button.setAttribute("aria-label", `${button.textContent}: ${displayName(r)}`);
      button.addEventListener("click", () => openToken(entry.id));
      item.append(name, state, button);
    }
    list.append(item);
  }
  $("no-tokens").hidden = entries.length > 0;
  show("view-list");
}

async function openToken(id) {
  const record = await store.load(id);
  if (!record) return showList();
  current.id = id;
  if (isLocked(record)) return showLocked(record, true);
  $("pin-token-name").textContent = displayName(record);
  $("pin").value = "";
  status("pin-status", "");
  showAttempts(record);
  show("view-pin");
}

function showAttempts(record) {
  $("attempts-left").textContent =
    record.failures > 0 ? `${plural(attemptsLeft(record), "try", "tries")} left before this token locks.` : "";
}

// ---- the PIN ----

async function submitPin(event) {
  event.preventDefault();
  const pin = $("pin").value.trim();
  $("pin").value = "";
  if (!pin) return status("pin-status", "Enter your PIN.", "error");
  status("pin-status", "", "counting");
  $("pin-submit").disabled = true;
  try {
    const record = await store.load(current.id);
    if (isLocked(record)) return showLocked(record, true);
    // Counted before the check, durably: closing the page mid-check gains nothing.
    record.failures += 1;
    await store.save(record);
    status("pin-status", "Checking the PIN…", "checking");
    const seed = await open(record.kdf, record.pin, pin, PIN_CHECK_BITS);
    if (!seed) {
      if (isLocked(record)) return showLocked(record, true);
      showAttempts(record);
      return status(
        "pin-status",
        `Incorrect PIN. ${plural(attemptsLeft(record), "try", "tries")} left before this token locks.`,
        "wrong",
      );
    }
    record.failures = 0;
    let counter = null;
    if (record.otp.kind === "hotp") {
      counter = record.otp.counter;
      record.otp.counter = counter + 1;
    }
    await store.save(record);
    status("pin-status", "", "open");
    await showCode(record, seed, counter);
  } finally {
    $("pin-submit").disabled = false;
  }
}

// ---- the code ----

async function showCode(record, seed, counter) {
  forgetSeed();
  current.seed = seed;
  $("code-token-name").textContent = displayName(record);
  const left = record.slots.length;
  const slotsNote = $("slots-note");
  slotsNote.hidden = record.recovery !== null || left > FEW_SLOTS;
  slotsNote.textContent =
    left === 0
      ? "This token has no unlock codes left: if it locks again it must be activated anew."
      : `Only ${plural(left, "unlock code is", "unlock codes are")} left for this token.`;
  const digits = record.otp.digits;
  const group = digits === 8 ? 4 : 3;
  const render = (code) => {
    $("otp").textContent = grouped(code, group, " ");
    $("otp").dataset.code = code;
  };
  $("export").dataset.id = record.id;
  // Server tokens can get a new set of unlock slots (imported ones have none).
  $("refresh-slots").hidden = record.recovery !== null || !record.serial;
  status("refresh-status", "");
  show("view-code");
  if (record.otp.kind === "hotp") {
    render(await hotp(seed, counter, digits, record.otp.algorithm));
    $("countdown").textContent = "A new code each time you open the token.";
    $("countdown-bar").hidden = true;
    return;
  }
  const period = record.otp.period;
  $("countdown-bar").hidden = false;
  $("countdown-bar").max = period;
  let step = null;
  const tick = async () => {
    const now = Date.now() / 1000;
    const thisStep = Math.floor(now / period);
    if (thisStep !== step && current.seed) {
      step = thisStep;
      render(await totp(current.seed, now, digits, period, record.otp.algorithm));
    }
    const left = secondsLeft(now, period);
    $("countdown").textContent = `Valid for ${plural(left, "more second", "more seconds")}.`;
    $("countdown-bar").value = left;
  };
  await tick();
  current.timer = setInterval(tick, 1000);
}

async function copyCode() {
  const code = $("otp").dataset.code ?? "";
  try {
    await navigator.clipboard.writeText(code);
    $("copy").textContent = "Copied";
  } catch {
    $("copy").textContent = "Copy failed: select the code";
  }
  setTimeout(() => ($("copy").textContent = "Copy"), 2000);
}

async function exportRecord() {
  // Only reachable with the code on screen, so after the PIN opened it.
  const record = await store.load($("export").dataset.id);
  const blob = new Blob([JSON.stringify(record, null, 2) + "\n"], { type: "application/json" });
  const link = $("export-link");
  link.href = URL.createObjectURL(blob);
  link.download = `token-${record.id}.json`;
  link.hidden = false;
  link.click();
}

// ---- refresh the unlock slots ----

/**
 * "Refresh unlock slots" on the code screen (the PIN opened the token): a
 * current code proves the token to the server, which answers with a new
 * unlock-secret generation, handed out this once; every slot is replaced
 * with one made from it in one write, and the secret is wiped.
 */
async function refreshSlots() {
  const seed = current.seed;
  if (!seed) return;
  const id = $("export").dataset.id;
  $("refresh-slots").disabled = true;
  status("refresh-status", "Asking the server for new unlock codes…", "checking");
  try {
    const record = await store.load(id);
    let code;
    if (record.otp.kind === "hotp") {
      const counter = record.otp.counter;
      record.otp.counter = counter + 1;
      await store.save(record);
      code = await hotp(seed, counter, record.otp.digits, record.otp.algorithm);
    } else {
      code = await totp(seed, Date.now() / 1000, record.otp.digits, record.otp.period, record.otp.algorithm);
    }
    let response;
    try {
      response = await fetch(new URL("/api/v1/tokens/refresh", record.server || serverUrl()), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ serial: record.serial, otp: code }),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      return status("refresh-status", "Cannot reach the server. Check the connection and try again.", "error");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      return status(
        "refresh-status",
        `The server refused: ${answer.error ?? `HTTP status ${response.status}`}. If you just signed in with this code, wait for the next one and try again.`,
        "error",
      );
    }
    status("refresh-status", "Making the new unlock codes… this takes a few seconds.", "checking");
    const count = await applyRefresh(record, seed, answer);
    answer.unlock_secret = "";
    await store.save(record);
    $("slots-note").hidden = true;
    status("refresh-status", `The token has ${plural(count, "new unlock code", "new unlock codes")}; the old ones are replaced.`, "done");
  } catch (error) {
    status("refresh-status", `The refresh failed: ${error.message}`, "error");
  } finally {
    $("refresh-slots").disabled = false;
  }
}

// ---- locked, forgot PIN, unlock ----

function showLocked(record, locked) {
  current.id = record.id;
  $("locked-title").textContent = locked ? "This token is locked" : "Forgot your PIN?";
  const imported = record.recovery !== null;
  const code = resetCode(record);
  $("reset-block").hidden = imported || !code;
  $("unlock-form").hidden = !imported && !code;
  if (imported) {
    $("locked-why").textContent =
      "This token was imported: it opens with the recovery code you were given when you imported it.";
    $("unlock-label").textContent = "Recovery code";
  } else if (!code) {
    $("locked-why").textContent =
      "This token has no unlock codes left. Ask your help desk for a new activation code and add the token again.";
  } else {
    $("locked-why").textContent = locked
      ? "Too many incorrect PINs. Get an unlock code for the PIN Reset Code below, then choose a new PIN."
      : "Get an unlock code for the PIN Reset Code below, then choose a new PIN.";
    $("unlock-label").textContent = "Unlock code";
    $("reset-code").textContent = grouped(code, 4);
    const portal = new URL("/self-service/unlock", record.server || serverUrl());
    portal.searchParams.set("serial", record.serial);
    portal.searchParams.set("reset_code", code);
    $("get-unlock-code").href = portal.href;
  }
  $("unlock-code").value = "";
  checkUnlockTyping();
  status("unlock-status", "");
  show("view-locked");
}

function checkUnlockTyping() {
  const parsed = parseCode($("unlock-code").value, UNLOCK_CODE);
  const typed = $("unlock-code").value.trim() !== "";
  $("unlock-hint").textContent = parsed.digits ? "" : typed && parsed.complete ? parsed.error : "";
  $("unlock-hint").dataset.state = parsed.digits ? "ok" : parsed.complete && typed ? "error" : "";
  $("unlock-code").setAttribute("aria-invalid", String(typed && Boolean(parsed.complete && parsed.error)));
  $("unlock-submit").disabled = !parsed.digits || current.unlocking;
  return parsed;
}

async function submitUnlock(event) {
  event.preventDefault();
  const parsed = checkUnlockTyping();
  if (!parsed.digits) return;
  current.unlocking = true;
  $("unlock-submit").disabled = true;
  status("unlock-status", "Checking the code…", "checking");
  try {
    const record = await store.load(current.id);
    const seed = await openWithCode(record, parsed.digits);
    if (!seed) {
      return status(
        "unlock-status",
        "That code does not match this token's PIN Reset Code. Check that it was issued for the code shown above and type it again. Nothing was changed.",
        "wrong",
      );
    }
    status("unlock-status", "", "open");
    current.seed = seed;
    $("choose-pin").value = "";
    $("choose-pin-again").value = "";
    $("new-recovery").hidden = true;
    status("new-pin-status", "");
    show("view-new-pin");
  } finally {
    current.unlocking = false;
    checkUnlockTyping();
  }
}

async function submitNewPin(event) {
  event.preventDefault();
  const record = await store.load(current.id);
  const pin = $("choose-pin").value.trim();
  const problem = pinProblem(pin, $("choose-pin-again").value.trim(), record.policy);
  if (problem) return status("new-pin-status", problem, "error");
  $("new-pin-submit").disabled = true;
  status("new-pin-status", "Saving the new PIN…", "checking");
  try {
    const seed = current.seed;
    // The new PIN, the spent slot gone and the count cleared: one write.
    const recovery = await applyUnlock(record, seed, pin);
    await store.save(record);
    $("choose-pin").value = "";
    $("choose-pin-again").value = "";
    current.seed = null;
    await showCode(record, seed, record.otp.kind === "hotp" ? record.otp.counter : null);
    if (record.otp.kind === "hotp") {
      record.otp.counter += 1;
      await store.save(record);
    }
    if (recovery) {
      message(`Your old recovery code is spent. The new one is ${grouped(recovery, 4)}: write it down; it is shown only once.`);
    } else {
      message("The token is unlocked and has its new PIN.");
    }
  } finally {
    $("new-pin-submit").disabled = false;
  }
}

// ---- activation ----

function hintFor(inputId, hintId, kind) {
  const text = $(inputId).value;
  const parsed = parseCode(text, kind);
  $(hintId).textContent = parsed.digits || !text.trim() || !parsed.complete ? "" : parsed.error;
  return parsed;
}

async function submitActivation(event) {
  event.preventDefault();
  const serial = hintFor("serial", "serial-hint", SERIAL);
  const code = hintFor("activation-code", "activation-hint", ACTIVATION_CODE);
  if (!serial.digits) return status("activate-status", serial.error, "error");
  if (!code.digits) return status("activate-status", code.error, "error");
  const pin = $("new-pin").value.trim();
  // Checked before the single-use activation code is spent.
  const problem = pinProblem(pin, $("new-pin-again").value.trim(), { min_length: 6 });
  if (problem) return status("activate-status", problem, "error");
  if (await store.load(serial.digits)) {
    return status("activate-status", `Token ${grouped(serial.digits, 5)} is already on this phone.`, "error");
  }
  $("activate-submit").disabled = true;
  status("activate-status", "Activating…", "checking");
  try {
    let response;
    try {
      response = await fetch(new URL("/api/v1/tokens/activate", serverUrl()), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ serial: serial.digits, activation_code: code.digits }),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      return status("activate-status", "Cannot reach the server. Check the connection and try again.", "error");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      return status("activate-status", `The server refused: ${answer.error ?? `HTTP status ${response.status}`}`, "error");
    }
    if (answer.serial !== serial.digits) {
      return status("activate-status", "The server answered for another serial.", "error");
    }
    const serverProblem = pinProblem(pin, pin, {
      min_length: answer.policy?.min_pin_length ?? 6,
    });
    if (serverProblem) return status("activate-status", serverProblem, "error");
    status("activate-status", "Making the unlock codes… this takes a few seconds.", "checking");
    const record = await recordFromActivation(answer, serverUrl(), pin);
    answer.secret = "";
    answer.unlock_secret = "";
    if (!(await store.add(record))) {
      return status("activate-status", `Token ${grouped(serial.digits, 5)} is already on this phone.`, "error");
    }
    $("activate-form").reset();
    status("activate-status", "", "done");
    await showList();
    message(`Token ${grouped(record.serial, 5)} (${displayName(record)}) is activated with ${record.slots.length} unlock codes.`);
  } catch (error) {
    status("activate-status", `The activation failed: ${error.message}`, "error");
  } finally {
    $("activate-submit").disabled = false;
    $("new-pin").value = "";
    $("new-pin-again").value = "";
  }
}

function startActivation(serial = "", code = "") {
  $("activate-form").reset();
  $("serial").value = serial;
  $("activation-code").value = code;
  status("activate-status", "");
  show("view-activate");
  if (serial && code) $("new-pin").focus();
}

// ---- a key URI ----

function startKeyUri() {
  $("key-uri-form").reset();
  status("key-uri-status", "");
  show("view-key-uri");
}

/**
 * "Add from a key URI": the URI read as latchkey-token reads it, the PIN
 * checked against the policy, then the record (seed under the PIN and under
 * a new recovery code) written, and its first code shown beside the
 * recovery code, which is never shown again.
 */
async function submitKeyUri(event) {
  event.preventDefault();
  const text = $("key-uri").value;
  const pin = $("key-uri-pin").value.trim();
  const again = $("key-uri-pin-again").value.trim();
  let key;
  try {
    key = parseKeyUri(text);
  } catch (error) {
    if (!(error instanceof KeyUriError)) throw error;
    return status("key-uri-status", `That key URI cannot be added: ${error.message}.`, "error");
  }
  const problem = pinProblem(pin, again, IMPORTED_POLICY);
  if (problem) {
    key.secret.fill(0);
    return status("key-uri-status", problem, "error");
  }
  $("key-uri-submit").disabled = true;
  status("key-uri-status", "Protecting the token with the PIN… this takes a few seconds.", "checking");
  try {
    const { record, recovery } = await recordFromKeyUri(key, pin);
    let counter = null;
    if (record.otp.kind === "hotp") {
      // The first code is shown now: its counter is spent before it is.
      counter = record.otp.counter;
      record.otp.counter = counter + 1;
    }
    if (!(await store.add(record))) {
      key.secret.fill(0);
      return status("key-uri-status", "The token could not be added; try again.", "error");
    }
    // The secret leaves the page: only the sealed record keeps it.
    $("key-uri-form").reset();
    status("key-uri-status", "", "done");
    await showCode(record, key.secret, counter);
    $("recovery-code").textContent = grouped(recovery, 4);
    $("recovery-block").hidden = false;
  } catch (error) {
    key.secret.fill(0);
    status("key-uri-status", `The token could not be added: ${error.message}`, "error");
  } finally {
    $("key-uri-submit").disabled = false;
    $("key-uri-pin").value = "";
    $("key-uri-pin-again").value = "";
  }
}

// ---- import ----

async function importFile() {
  const file = $("import-file").files[0];
  $("import-file").value = "";
  if (!file) return;
  let record;
  try {
    record = JSON.parse(await file.text());
  } catch {
    return message("That file is not a Latchkey token vault: it does not parse.");
  }
  const problem = recordProblem(record);
  if (problem) return message(`That file cannot be imported: ${problem}.`);
  if (!(await store.add(record))) return message(`A token ${record.id} is already on this phone.`);
  await showList();
  message(`Imported ${displayName(record)}.`);
}

// ---- storage, updates, start ----

async function askPersistence() {
  const note = $("storage-note");
  if (!navigator.storage || !navigator.storage.persist) {
    note.textContent = "This browser cannot promise to keep the tokens: export them to a file as a backup.";
    return;
  }
  const granted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  note.textContent = granted
    ? "Storage is persistent: the browser will not clear these tokens to free space."
    : "The browser may clear these tokens when space runs low. Install the app (Add to Home Screen) to keep them.";
  note.dataset.persisted = String(granted);
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("sw.js", { scope: "./" });
  let accepted = false;
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;
    $("update-banner").hidden = false;
    $("accept-update").onclick = () => {
      accepted = true;
      worker.postMessage({ type: "accept-update" });
    };
  };
  offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => {
      if (worker.state === "installed") offer(worker);
    });
  });
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only after the person accepted an update; the first install just claims.
    if (accepted && !reloading) {
      reloading = true;
      location.reload();
    }
  });
}

function route() {
  const hash = location.hash;
  if (hash.startsWith("#activate")) {
    const params = new URLSearchParams(hash.slice(hash.indexOf("?") + 1));
    // The activation code leaves the address bar and the history at once.
    history.replaceState(null, "", location.pathname);
    startActivation(params.get("serial") ?? "", params.get("activation_code") ?? "");
    return true;
  }
  return false;
}

function wire() {
  $("add-token").addEventListener("click", () => startActivation());
  $("add-key-uri").addEventListener("click", startKeyUri);
  $("key-uri-form").addEventListener("submit", submitKeyUri);
  $("import-file").addEventListener("change", importFile);
  $("activate-form").addEventListener("submit", submitActivation);
  $("serial").addEventListener("input", () => hintFor("serial", "serial-hint", SERIAL));
  $("activation-code").addEventListener("input", () => hintFor("activation-code", "activation-hint", ACTIVATION_CODE));
  $("pin-form").addEventListener("submit", submitPin);
  $("forgot-pin").addEventListener("click", async () => showLocked(await store.load(current.id), false));
  $("copy").addEventListener("click", copyCode);
  $("export").addEventListener("click", exportRecord);
  $("refresh-slots").addEventListener("click", refreshSlots);
  $("code-done").addEventListener("click", showList);
  $("unlock-code").addEventListener("input", checkUnlockTyping);
  $("unlock-form").addEventListener("submit", submitUnlock);
  $("new-pin-form").addEventListener("submit", submitNewPin);
  for (const back of document.querySelectorAll("button.back")) back.addEventListener("click", showList);
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => {
    // A code left on screen is hidden when the app goes to the background,
    // except beside a new recovery code: that is shown only once, and the
    // person may be switching away to write it down.
    if (document.hidden && !$("view-code").hidden && $("recovery-block").hidden) showList();
  });
}

async function start() {
  wire();
  if (!window.isSecureContext || !crypto.subtle) {
    message("This app needs a secure connection (HTTPS) to keep tokens safely.");
    return;
  }
  await showList();
  route();
  document.body.dataset.ready = "true";
  askPersistence().catch(() => {});
  registerWorker().catch(() => {});
}

start().catch((error) => message(`The app could not start: ${error.message}`));
