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
// Photos seen on this phone that IndexedDB does not hold (taken on another
// phone, or before a reinstall): their thumbnail and display sizes. The server
// still answers each view (who may see a photo can change; a refusal drops
// the kept copy); offline, the last answer is shown. Dropped at every login
// and logout, so the next account on the phone never sees them.
const PHOTOS = "khaosat-photos";
const PHOTO_VIEW = /^\/api\/photos\/[0-9a-f-]{36}\/(thumb|display)$/;
// Oldest first beyond this many (a season of visits' thumbnails is far fewer).
const PHOTOS_KEPT = 600;

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

function keepPhoto(request, response) {
  return caches.open(PHOTOS).then((cache) =>
    cache.match(request).then((kept) => {
      // A photo's bytes never change under its id: kept once.
      if (kept) return undefined;
      return cache
        .put(request, response)
        .then(() => cache.keys())
        .then((keys) => Promise.all(keys.slice(0, Math.max(0, keys.length - PHOTOS_KEPT)).map((k) => cache.delete(k))));
    }),
  );
}

function photoView(event) {
  const request = event.request;
  return fetch(request).then(
    (response) => {
      if (response.ok) {
        event.waitUntil(keepPhoto(request, response.clone()).catch(() => undefined));
      } else if ([401, 403, 404, 410].includes(response.status)) {
        event.waitUntil(caches.open(PHOTOS).then((cache) => cache.delete(request)));
      }
      return response;
    },
    // No answer (offline, server down): the copy this phone kept, if any.
    () => caches.match(request, { cacheName: PHOTOS }).then((kept) => kept || Response.error()),
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && (url.pathname === "/api/auth/login" || url.pathname === "/api/auth/logout")) {
    // Whoever comes next starts without the last account's photos.
    event.waitUntil(caches.delete(PHOTOS));
    return;
  }
  if (request.method !== "GET") return;
  if (PHOTO_VIEW.test(url.pathname)) {
    event.respondWith(photoView(event));
    return;
  }
  if (url.pathname.startsWith("/api/")) return;

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
