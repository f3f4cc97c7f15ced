// The records in IndexedDB, each sealed with AES-GCM under a device key made
// on first start. The key is a non-extractable CryptoKey: IndexedDB keeps a
// handle the browser can use but never hands out, so a copy of the browser's
// storage alone opens nothing. Every write is a transaction with strict
// durability, and resolves only once the browser reports it complete.

const DB_NAME = "latchkey";
const DB_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let opened = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("the write was aborted"));
  });
}

function database() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("keys");
        db.createObjectStore("tokens", { keyPath: "id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

async function deviceKey() {
  const db = await database();
  const read = db.transaction("keys", "readonly");
  const existing = await request(read.objectStore("keys").get("device"));
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const tx = db.transaction("keys", "readwrite", { durability: "strict" });
  // `add` fails if another tab made a key meanwhile: then that one is used.
  tx.objectStore("keys").add(key, "device");
  try {
    await done(tx);
    return key;
  } catch {
    const again = db.transaction("keys", "readonly");
    return request(again.objectStore("keys").get("device"));
  }
}

function aad(id) {
  // The record's id is bound in, so sealed records cannot be swapped.
  return encoder.encode(`latchkey-app-record-v1\u0000${id}`);
}

async function sealRecord(record) {
  const key = await deviceKey();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(record));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(record.id) }, key, plain);
  plain.fill(0);
  return { id: record.id, iv, data };
}

async function openRecord(entry) {
  const key = await deviceKey();
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: entry.iv, additionalData: aad(entry.id) },
    key,
    entry.data,
  );
  const bytes = new Uint8Array(plain);
  const record = JSON.parse(decoder.decode(bytes));
  bytes.fill(0);
  return record;
}

/** Every token, as `{id, record}` or `{id, error}` for one that does not open. */
export async function list() {
  const db = await database();
  const tx = db.transaction("tokens", "readonly");
  const entries = await request(tx.objectStore("tokens").getAll());
  const out = [];
  for (const entry of entries) {
    try {
      out.push({ id: entry.id, record: await openRecord(entry) });
    } catch {
      out.push({ id: entry.id, error: "this token's record cannot be opened on this device" });
    }
  }
  return out;
}

/** One token's record, or null. */
export async function load(id) {
  const db = await database();
  const tx = db.transaction("tokens", "readonly");
  const entry = await request(tx.objectStore("tokens").get(id));
  return entry ? openRecord(entry) : null;
}

/** Writes one record durably; resolves once the browser has committed it. */
export async function save(record) {
  const sealed = await sealRecord(record);
  const db = await database();
  const tx = db.transaction("tokens", "readwrite", { durability: "strict" });
  tx.objectStore("tokens").put(sealed);
  await done(tx);
}

/** Adds a record that must not exist yet; false if one with its id does. */
export async function add(record) {
  const sealed = await sealRecord(record);
  const db = await database();
  const tx = db.transaction("tokens", "readwrite", { durability: "strict" });
  tx.objectStore("tokens").add(sealed);
  try {
    await done(tx);
    return true;
  } catch (error) {
    if (error && error.name === "ConstraintError") return false;
    throw error;
  }
}

/** Removes a token. */
export async function remove(id) {
  const db = await database();
  const tx = db.transaction("tokens", "readwrite", { durability: "strict" });
  tx.objectStore("tokens").delete(id);
  await done(tx);
}
