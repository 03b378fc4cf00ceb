// khaosat service worker. The server fills in the build version and the precache
// list when it serves /sw.js, so each deployment gets its own cache and the old
// shell is dropped on activation. IndexedDB (the inspector's data) is never touched.
const VERSION = "__KHAOSAT_VERSION__";
const CACHE = `khaosat-shell-${VERSION}`;
const PRECACHE = __KHAOSAT_PRECACHE__;
const SHELL = "/offline-shell";
// On a weak rural link a navigation may hang; after this long the cached shell
// is served instead, and the app reads its data from IndexedDB.
const NAVIGATION_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

// A new version installs and then waits: it takes over only when the person
// agrees in the app ("update now"), never in the middle of a form.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip_waiting") self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("khaosat-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); },
    );
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;

  if (request.mode === "navigate") {
    // Online: the server-rendered page. Offline, unreachable or too slow: the shell.
    event.respondWith(
      withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS).catch(() =>
        caches.match(SHELL, { cacheName: CACHE }).then((shell) => shell || Response.error()),
      ),
    );
    return;
  }

  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((cached) => {
      if (cached) return cached;
      return fetch(request).then((response) => {
        // An office page's code (a lazy route's WASM chunk) is not precached: a
        // phone never needs it. Kept once fetched, so the office opens offline too.
        if (response.ok && url.pathname.startsWith("/pkg/")) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      });
    }),
  );
});
