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
// both kept sizes); when it does not answer (offline, a link that hangs, a
// proxy's 5xx), the last answer is shown. Dropped at every login and logout
// (here, and by the app itself for a page this worker does not control), so
// the next account on the phone never sees them.
const PHOTOS = "khaosat-photos";
const PHOTO_VIEW = /^\/api\/photos\/([0-9a-f-]{36})\/(thumb|display)$/;
// Oldest first beyond this many (a season of visits' thumbnails is far fewer).
const PHOTOS_KEPT = 600;
// How long a kept photo waits for the server's answer before it is shown.
const PHOTO_TIMEOUT_MS = 4000;
// Bumped at each login and logout: an answer to a request made before one is
// not kept (it belongs to the account that asked).
let photoGeneration = 0;

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

function dropPhoto(id) {
  return caches.open(PHOTOS).then((cache) =>
    Promise.all(["thumb", "display"].map((size) => cache.delete(`/api/photos/${id}/${size}`))),
  );
}

function photoView(event, id) {
  const request = event.request;
  const generation = photoGeneration;
  const network = fetch(request);
  // The bookkeeping outlives the answer given to the page (the kept copy
  // may answer first); its clone is taken before the page reads the body.
  event.waitUntil(
    network
      .then((response) => {
        if (response.ok && generation === photoGeneration) return keepPhoto(request, response.clone());
        if ([401, 403, 404, 410].includes(response.status)) return dropPhoto(id);
        return undefined;
      })
      .catch(() => undefined),
  );
  return caches.match(request, { cacheName: PHOTOS }).then((kept) => {
    if (!kept) return network;
    return withTimeout(network, PHOTO_TIMEOUT_MS).then(
      (response) => (response.status >= 500 ? kept : response),
      () => kept,
    );
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && (url.pathname === "/api/auth/login" || url.pathname === "/api/auth/logout")) {
    // Whoever comes next starts without the last account's photos.
    photoGeneration += 1;
    event.waitUntil(caches.delete(PHOTOS));
    return;
  }
  if (request.method !== "GET") return;
  const photo = PHOTO_VIEW.exec(url.pathname);
  if (photo) {
    event.respondWith(photoView(event, photo[1]));
    return;
  }
  if (url.pathname.startsWith("/api/")) return;

  if (request.mode === "navigate") {
    // Online: the server-rendered page. Offline, unreachable, too slow, or a
    // server error (a proxy's "502 Bad Gateway" while the server restarts,
    // a database that is down): the shell, which reads the phone's own data.
    const shellOr = (fallback) =>
      caches.match(SHELL, { cacheName: CACHE }).then((shell) => shell || fallback);
    event.respondWith(
      withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS).then(
        (response) => (response.status >= 500 ? shellOr(response) : response),
        () => shellOr(Response.error()),
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
