// The service worker: the app's files come from its cache, so the app opens
// offline and keeps the version the person has until they accept an update.
// The server fills in VERSION from the embedded files, so a new build is a
// new worker; the new worker waits until the page asks it to take over.
// The JSON API is never cached.

const VERSION = "__LATCHKEY_APP_VERSION__";
const CACHE = `latchkey-app-${VERSION}`;
const FILES = [
  "./",
  "index.html",
  "app.css",
  "manifest.webmanifest",
  "icon.svg",
  "icon-192.png",
  "icon-512.png",
  "js/main.js",
  "js/codes.js",
  "js/oath.js",
  "js/vault.js",
  "js/store.js",
  "js/server.js",
  "js/keyuri.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // Straight from the server, never from the HTTP cache.
      cache.addAll(FILES.map((file) => new Request(file, { cache: "reload" }))),
    ).then(async () => {
      // The first install takes over at once; an update waits for consent.
      const others = (await caches.keys()).filter((name) => name.startsWith("latchkey-app-") && name !== CACHE);
      if (others.length === 0) await self.skipWaiting();
    }),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("latchkey-app-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "accept-update") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // The app's page whatever its query; the fragment never reaches here.
      const key = url.pathname === scope.pathname ? scope.href : url.origin + url.pathname;
      const cached = await cache.match(key);
      return cached ?? fetch(request);
    })(),
  );
});
