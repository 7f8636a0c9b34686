// Tessera web console: the little script the pages need, and nothing else.
//  - Live: an open page listens on /v1/events (through the JavaScript client's SessionWatcher) and goes to the sign-in
//    page, with the reason, the moment its session ends anywhere (another device, an admin, a password change).
//  - Relative times ("3 minutes ago") that stay current, with the exact local time on hover; exact times rewritten from
//    UTC into the viewer's time zone, named, with the UTC time on hover; time fields labelled with that zone.
//  - Confirmation dialogs (<dialog>, keyboard-operable), local date-times sent as UTC, and bulk actions with progress.
(() => {
  'use strict';

  // ---- Live: the session's event stream ---------------------------------------------------------------------------
  const signInUrl = (reason) => {
    const here = location.pathname + location.search;
    const query = new URLSearchParams();
    if (reason) query.set('ended', reason);
    if (here !== '/account') query.set('returnUrl', here);
    const text = query.toString();
    return '/login' + (text ? '?' + text : '');
  };

  // The watcher is the JavaScript client's (clients/js, served at /js/client/): EventSource with the session cookie,
  // jittered reconnects, and one check of /v1/auth/session whenever the stream is lost, so that a network failure is
  // never taken for an ended session and an ended one is learned with its reason.
  const watchSession = () => {
    if (document.body.dataset.live !== 'true' || !('EventSource' in window)) return;
    let ended = false;
    const leave = (reason) => {
      if (ended) return;
      ended = true;
      location.replace(signInUrl(reason));
    };

    import('/js/client/index.js').then(({ TesseraClient, SessionWatcher }) => {
      // A page is in the foreground while it is shown: where the stream cannot be held, it checks every 10 seconds.
      const watcher = new SessionWatcher(new TesseraClient({ mode: 'cookie' }), { pollIntervalMs: 10000, streamRetryMs: 15000 });
      watcher.addEventListener('statechange', (event) => {
        document.documentElement.dataset.live = event.state === 'connected' ? 'connected' : 'reconnecting';
      });
      // No session at all (signed out in another tab: the cookie is gone) has no reason to give; the sign-in page says
      // why from the cookie anyway.
      watcher.addEventListener('sessionended', (event) => leave(event.code === 'unauthenticated' ? null : event.reason));
      watcher.start();
      // Leaving the page closes the stream at once, so the server does not keep it for a page that is gone.
      addEventListener('pagehide', () => watcher.stop());
    }).catch(() => {
      // Without the client the page still works; it only does not hear that its session ended until the next request.
    });
  };

  // A page restored from the back/forward cache may show a session that has since ended: load it afresh.
  addEventListener('pageshow', (event) => {
    if (event.persisted && document.body.dataset.live === 'true') location.reload();
  });

  // ---- Relative times ---------------------------------------------------------------------------------------------
  // Worded like TimeDisplay.Relative on the server.
  const relative = (date, now) => {
    const seconds = (date.getTime() - now) / 1000;
    const past = seconds <= 0;
    const abs = Math.abs(seconds);
    if (abs < 45) return past ? 'just now' : 'in a moment';
    const steps = [
      [90, () => [1, 'minute']],
      [45 * 60, () => [Math.round(abs / 60), 'minute']],
      [90 * 60, () => [1, 'hour']],
      [22 * 3600, () => [Math.round(abs / 3600), 'hour']],
      [36 * 3600, () => [1, 'day']],
      [26 * 86400, () => [Math.round(abs / 86400), 'day']],
      [45 * 86400, () => [1, 'month']],
      [320 * 86400, () => [Math.round(abs / (30 * 86400)), 'month']],
      [Infinity, () => [Math.max(1, Math.round(abs / (365 * 86400))), 'year']],
    ];
    const [count, unit] = steps.find(([limit]) => abs < limit)[1]();
    const words = `${count} ${unit}${count === 1 ? '' : 's'}`;
    return past ? `${words} ago` : `in ${words}`;
  };

  // timeStyle 'long' names the zone ("4:05:00 AM GMT+1", "6:30:00 PM EST").
  const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });
  const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const utc = (date) => date.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

  const refreshTimes = () => {
    const now = Date.now();
    for (const time of document.querySelectorAll('time[data-relative]')) {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = relative(date, now);
      time.title = `${exact.format(date)} (${utc(date)})`;
    }
  };

  // The server writes exact times in UTC (it does not know the viewer's zone); say them in the viewer's own.
  const localizeTimes = () => {
    for (const time of document.querySelectorAll('time[data-exact]')) {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = (time.dataset.exact === 'date' ? day : exact).format(date);
      time.title = utc(date);
    }
    for (const label of document.querySelectorAll('[data-time-zone]')) label.textContent = timeZone;
  };

  // ---- Dialogs ----------------------------------------------------------------------------------------------------
  // An opener is a plain form that, without script, asks for the page's confirmation step (?confirm=id); here it opens the
  // same confirmation as a modal dialog instead.
  document.addEventListener('click', (event) => {
    const opener = event.target.closest('[data-dialog]');
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && typeof dialog.showModal === 'function') {
        event.preventDefault();
        dialog.showModal();
      }
      return;
    }
    const closer = event.target.closest('[data-close]');
    if (closer) closer.closest('dialog')?.close();
  });

  // ---- Forms ------------------------------------------------------------------------------------------------------
  document.addEventListener('submit', (event) => {
    const form = event.target;
    // A datetime-local field is the person's local time; send the same instant in UTC beside it.
    for (const input of form.querySelectorAll('input[type="datetime-local"][data-utc-field]')) {
      const name = input.dataset.utcField;
      let hidden = form.querySelector(`input[type="hidden"][name="${name}"]`);
      if (!hidden) {
        hidden = document.createElement('input');
        hidden.type = 'hidden';
        hidden.name = name;
        form.append(hidden);
      }
      const date = input.value ? new Date(input.value) : null;
      hidden.value = date && !Number.isNaN(date.getTime()) ? date.toISOString() : '';
      hidden.disabled = !hidden.value;
      // And the zone, so that what the server says back (a notice) is in the same time.
      if (form.method === 'post' && !form.querySelector('input[name="tz"]')) {
        const zone = document.createElement('input');
        zone.type = 'hidden';
        zone.name = 'tz';
        zone.value = timeZone;
        form.append(zone);
      }
    }
  }, true);

  document.addEventListener('submit', (event) => {
    // One click, one action: once a form really goes, its buttons rest until the next page.
    const form = event.target;
    if (form.method !== 'post' || event.defaultPrevented) return;
    setTimeout(() => form.querySelectorAll('button[type="submit"]').forEach((button) => { button.disabled = true; }), 0);
  });

  // ---- Bulk actions on the users page -----------------------------------------------------------------------------
  const wireBulk = (form) => {
    const dialog = document.getElementById('bulk-dialog');
    const count = document.getElementById('bulk-count');
    const actionSelect = form.querySelector('[name="bulkAction"]');
    const boxes = () => [...form.querySelectorAll('input[name="ids"]')];
    const selected = () => boxes().filter((box) => box.checked);
    const selectAll = form.querySelector('[data-select-all]');
    if (!dialog || !actionSelect) return;

    const title = dialog.querySelector('#bulk-title');
    const body = dialog.querySelector('#bulk-body');
    const progressArea = dialog.querySelector('.bulk-progress');
    const progress = dialog.querySelector('#bulk-progress');
    const status = dialog.querySelector('#bulk-status');
    const failures = dialog.querySelector('#bulk-failures');
    const cancel = dialog.querySelector('[data-close]');
    const confirm = dialog.querySelector('#bulk-confirm');
    const done = dialog.querySelector('#bulk-done');
    let running = false;

    const users = (n) => `${n} ${n === 1 ? 'user' : 'users'}`;
    const updateCount = () => {
      const n = selected().length;
      count.textContent = n === 0 ? 'No users selected' : `${users(n)} selected`;
      if (selectAll) {
        selectAll.checked = n > 0 && n === boxes().length;
        selectAll.indeterminate = n > 0 && n < boxes().length;
      }
    };
    form.addEventListener('change', (event) => {
      if (event.target === selectAll) boxes().forEach((box) => { box.checked = selectAll.checked; });
      updateCount();
    });
    updateCount();

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = selected();
      const option = actionSelect.selectedOptions[0];
      if (chosen.length === 0 || !option || !option.value) {
        count.textContent = chosen.length === 0 ? 'Select at least one user first.' : 'Choose an action first.';
        (chosen.length === 0 ? boxes()[0] || actionSelect : actionSelect).focus();
        return;
      }
      title.textContent = `${option.dataset.verb} ${users(chosen.length)}?`;
      body.textContent = option.dataset.effect;
      confirm.textContent = `${option.dataset.verb} ${users(chosen.length)}`;
      progressArea.hidden = true;
      failures.replaceChildren();
      confirm.hidden = false;
      confirm.disabled = false;
      cancel.hidden = false;
      done.hidden = true;
      dialog.showModal();
    });

    // Escape must not hide a run that is still going.
    dialog.addEventListener('cancel', (event) => { if (running) event.preventDefault(); });
    done.addEventListener('click', () => location.reload());

    confirm.addEventListener('click', async () => {
      const chosen = selected();
      const option = actionSelect.selectedOptions[0];
      const total = chosen.length;
      const chunk = Math.max(1, Math.ceil(total / 50));
      const token = form.querySelector('input[name="__RequestVerificationToken"]').value;
      let finished = 0;
      let succeeded = 0;
      running = true;
      confirm.disabled = true;
      cancel.hidden = true;
      progressArea.hidden = false;
      progress.max = total;
      progress.value = 0;
      status.textContent = `${option.dataset.verb}: 0 of ${total} done…`;

      const fail = (label, message) => {
        const item = document.createElement('li');
        item.textContent = `${label}: ${message}`;
        failures.append(item);
      };

      for (let i = 0; i < total; i += chunk) {
        const part = chosen.slice(i, i + chunk);
        const data = new FormData();
        data.append('__RequestVerificationToken', token);
        data.append('bulkAction', option.value);
        data.append('reason', form.querySelector('[name="reason"]').value);
        part.forEach((box) => data.append('ids', box.value));
        const labelOf = (id) => part.find((box) => box.value === id)?.closest('tr')?.dataset.label || id;
        try {
          const response = await fetch(form.action, {
            method: 'POST', body: data, credentials: 'same-origin', headers: { Accept: 'application/json' },
          });
          const answer = await response.json().catch(() => ({}));
          if (!response.ok) {
            part.forEach((box) => fail(labelOf(box.value), answer.error || `The server answered ${response.status}.`));
          } else {
            for (const result of answer.results || []) {
              if (result.ok) succeeded++;
              else fail(labelOf(result.userId), result.message);
            }
          }
        } catch {
          part.forEach((box) => fail(labelOf(box.value), 'The request did not reach the server.'));
        }
        finished += part.length;
        progress.value = finished;
        status.textContent = `${option.dataset.verb}: ${finished} of ${total} done…`;
      }

      running = false;
      const failed = total - succeeded;
      status.textContent = `Done: ${users(succeeded)} ${option.dataset.done}` +
        (failed ? `, ${failed} not changed.` : '.');
      confirm.hidden = true;
      done.hidden = false;
      done.focus();
    });
  };

  // ---- A secret shown once ------------------------------------------------------------------------------------------
  // The page that shows a new secret is the answer to a POST: make this history entry a plain GET of the same address,
  // so that reloading (or coming back to) it asks for the page afresh, without the secret, and repeats nothing.
  const forgetSecretOnReload = () => {
    if (document.querySelector('[data-secret-once]') && window.history.replaceState) {
      window.history.replaceState(null, '', window.location.pathname);
    }
  };

  // ---- Start ------------------------------------------------------------------------------------------------------
  const start = () => {
    forgetSecretOnReload();
    watchSession();
    localizeTimes();
    refreshTimes();
    setInterval(refreshTimes, 30000);
    document.querySelectorAll('form[data-bulk]').forEach(wireBulk);
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
