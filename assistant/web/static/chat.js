/* chat.js — the chat widget: messages, streamed replies, quick replies, the payment confirmation
 * card, errors, language switch and demo user picker. The protocol lives in lui.js. */
(function () {
  'use strict';
  const { LuiClient, STRINGS, t, formatFen, el, params } = window.Lui;

  const BILLS = {
    electricity: ['电费', 'electricity'], water: ['水费', 'water'], gas: ['燃气费', 'gas'],
    phone: ['话费', 'phone'], internet: ['宽带费', 'internet'], property: ['物业费', 'property'],
    tv: ['有线电视费', 'TV'],
  };
  const LIVE_CARD_STATES = new Set(['pending', 'working', 'offline']);

  const $ = (id) => document.getElementById(id);
  const list = $('messages');
  const quick = $('quick');
  const input = $('input');
  const userSelect = $('user');
  const q = params();

  const user = q.get('user') || 'u_li';
  if ([...userSelect.options].some((o) => o.value === user)) userSelect.value = user;
  const option = userSelect.selectedOptions[0];
  const lang = q.get('lang') || (option && option.dataset.lang) || 'zh';

  const client = new LuiClient({ user, lang, mode: q.get('mode') === 'elder' ? 'elder' : 'standard',
                                 pingMs: Number(q.get('ping')) || 20000, reminders: true });
  const ui = { streaming: null, typing: null, cards: new Map(), awaiting: null, lastIntent: null, inflight: 0,
               wasReady: false, dropped: false };
  window.lui = client;
  window.luiChat = { ui, sendText };

  const tr = (key, fields) => t(STRINGS, client.lang, key, fields);
  const billName = (type) => (BILLS[type] ? BILLS[type][client.lang === 'en' ? 1 : 0] : type);

  // --- labels --------------------------------------------------------------------------------
  function applyLabels() {
    document.documentElement.lang = Lui.uiLang(client.lang) === 'zh' ? 'zh-CN' : 'en';
    document.title = tr('title');
    $('title').textContent = tr('title');
    $('user-label').textContent = tr('user');
    $('lang-auto').textContent = tr('auto');
    $('send').textContent = tr('send');
    input.placeholder = tr('placeholder');
    const empty = $('empty');
    if (empty) empty.textContent = tr('empty');
    for (const b of $('lang').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.lang === client.lang));
    showStatus(client.state, {});
  }

  function showStatus(state, info) {
    const status = $('status');
    status.dataset.state = state;
    if (state === 'offline') status.textContent = tr('status_offline', { s: Math.max(1, Math.ceil((info.retryInMs || 0) / 1000)) });
    else if (state === 'starting') status.textContent = tr('status_connecting');
    else status.textContent = tr('status_' + state);
  }

  // --- messages ------------------------------------------------------------------------------
  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  function append(node) {
    const empty = $('empty');
    if (empty) empty.remove();
    if (ui.typing && ui.typing.isConnected && node !== ui.typing) list.insertBefore(node, ui.typing);
    else list.append(node);
    scrollToEnd();
    return node;
  }

  function addMessage(role, text, attrs) {
    return append(el('li', Object.assign({ class: 'msg ' + role }, attrs || {}), el('div', { class: 'bubble' }, text)));
  }

  function notice(text, kind) {
    return append(el('li', { class: 'notice ' + (kind || '') }, text));
  }

  function setTyping(on) {
    if (on && !ui.typing) {
      ui.typing = el('li', { class: 'msg bot typing', 'aria-label': '…' },
                     el('div', { class: 'bubble' }, el('i'), el('i'), el('i')));
      list.append(ui.typing);
      scrollToEnd();
    } else if (!on && ui.typing) {
      ui.typing.remove();
      ui.typing = null;
    }
  }

  function turnStarted() {
    ui.inflight += 1;
    setTyping(true);
  }

  function turnEnded() {
    ui.inflight = Math.max(0, ui.inflight - 1);
    if (ui.inflight === 0) setTyping(false);
  }

  function clearQuick() {
    quick.replaceChildren();
  }

  function showQuick(replies) {
    clearQuick();
    for (const text of replies || []) {
      quick.append(el('button', { type: 'button', class: 'quick-reply', onclick: () => sendText(text) }, text));
    }
  }

  function sendText(text) {
    text = String(text || '').trim();
    if (!text) return;
    addMessage('user', text);
    clearQuick();
    ui.lastIntent = null;
    client.send({ type: 'text', text });
    turnStarted();
  }

  // --- the confirmation card -----------------------------------------------------------------
  function hhmm(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  function renderCard(ev) {
    const d = ev.details || {};
    const id = ev.confirmation_id;
    const rows = [['payee', d.payee], ['bill', d.bill_type && billName(d.bill_type)], ['account', d.account], ['phone', d.phone],
                  ['period', d.period]].filter((r) => r[1]);
    const card = el('li', { class: 'msg bot card', dataset: { confirmationId: id, state: 'pending' } },
      el('div', { class: 'card-head' }, el('span', { class: 'card-icon', 'aria-hidden': 'true' }, '¥'), tr('confirm_title')),
      d.amount_fen != null ? el('div', { class: 'card-amount' }, formatFen(d.amount_fen)) : null,
      rows.length ? el('dl', { class: 'card-rows' }, rows.map(([k, v]) => el('div', {}, el('dt', {}, tr(k)), el('dd', {}, v)))) : null,
      el('p', { class: 'card-summary' }, ev.summary),
      el('div', { class: 'card-actions' },
        el('button', { type: 'button', class: 'btn-confirm', onclick: () => answerCard(id, true) }, tr('confirm')),
        el('button', { type: 'button', class: 'btn-cancel', onclick: () => answerCard(id, false) }, tr('cancel'))),
      el('p', { class: 'card-expiry' }, tr('expires', { time: hhmm(ev.expires_at) })),
      el('div', { class: 'card-status', role: 'status' }));
    card.dataset.shown = '1';
    return card;
  }

  /** A payment history or the bills due soon: one row per item (name, account, date, amount). */
  function renderList(card) {
    const history = card.kind === 'history';
    const items = history ? card.items : card.bills;
    const rows = items.map((i) => el('div', { class: 'list-row' },
      el('dt', {}, (history ? i.name : billName(i.bill_type)) + ' · ' + i.account),
      el('dd', {}, (history ? hhmmDate(i.done_at) : tr('due', { date: i.due_date })) + '  ' +
        formatFen(history ? i.amount_fen : i.outstanding_fen))));
    return el('li', { class: 'msg bot list-card', dataset: { kind: card.kind } },
      el('div', { class: 'card-head' }, el('span', { class: 'card-icon', 'aria-hidden': 'true' }, history ? '≡' : '!'),
        tr(history ? 'history_title' : 'reminder_title')),
      history && card.total_fen ? el('div', { class: 'card-amount' }, formatFen(card.total_fen)) : null,
      rows.length ? el('dl', { class: 'card-rows' }, rows) : null);
  }

  function hhmmDate(iso) {
    const d = new Date(iso);
    return (d.getMonth() + 1) + '/' + d.getDate();
  }

  function setCardState(card, state, text) {
    card.dataset.state = state;
    for (const b of card.querySelectorAll('.card-actions button')) b.disabled = state !== 'pending';
    const status = card.querySelector('.card-status');
    status.textContent = text || (state === 'pending' ? '' : tr('card_' + state));
  }

  function watchExpiry(card, iso) {
    clearTimeout(card._expiry);
    const ms = new Date(iso).getTime() - Date.now();
    if (!isFinite(ms)) return;
    card._expiry = setTimeout(() => {
      if (card.dataset.state === 'pending' || card.dataset.state === 'offline') setCardState(card, 'expired');
    }, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
  }

  function onConfirmRequest(ev) {
    let card = ui.cards.get(ev.confirmation_id);
    if (card) { // sent again (after a reconnect or a language switch): the same card is live again
      card.querySelector('.card-summary').textContent = ev.summary;
      card.dataset.shown = String(Number(card.dataset.shown || 1) + 1);
      if (ui.awaiting && ui.awaiting.id === ev.confirmation_id) ui.awaiting = null;
      if (list.lastElementChild !== card) append(card);
    } else {
      card = append(renderCard(ev));
      ui.cards.set(ev.confirmation_id, card);
    }
    setCardState(card, 'pending');
    watchExpiry(card, ev.expires_at);
    setTyping(false);
  }

  function answerCard(id, accept) {
    const card = ui.cards.get(id);
    if (!card || card.dataset.state !== 'pending' || !client.ready) return;
    setCardState(card, 'working');
    ui.awaiting = { id, accept };
    clearQuick();
    client.send({ type: 'confirm', confirmation_id: id, accept });
    turnStarted();
  }

  function latestLiveCard() {
    const cards = [...ui.cards.values()].filter((c) => c.dataset.state === 'pending');
    return cards[cards.length - 1] || null;
  }

  /** A turn ended with a reply: does it settle a confirmation card? */
  function settleCards(ev) {
    const receipt = ev.card && ev.card.kind === 'receipt' ? ev.card : null;
    const paid = receipt ? tr('card_paid', { amount: formatFen(receipt.amount_fen) }) : null;
    if (ui.awaiting) {
      const { id, accept } = ui.awaiting;
      ui.awaiting = null;
      const card = ui.cards.get(id);
      if (!card) return;
      if (receipt) setCardState(card, 'paid', '✓ ' + paid);
      else if (!accept) setCardState(card, 'cancelled');
      else setCardState(card, 'failed', ev.text);
      return;
    }
    const card = latestLiveCard();
    if (!card) return;
    if (receipt) setCardState(card, 'paid', '✓ ' + paid); // typed or spoken "确认" / "yes"
    else if (ui.lastIntent === 'deny' || ui.lastIntent === 'cancel') setCardState(card, 'cancelled');
    else if (ui.lastIntent === 'confirm') setCardState(card, 'failed', ev.text);
  }

  // --- events --------------------------------------------------------------------------------
  client.on('state', (s) => {
    showStatus(s.state, s);
    if (s.state === 'offline' && s.previous !== 'offline' && s.previous !== 'connecting') {
      for (const card of ui.cards.values()) if (LIVE_CARD_STATES.has(card.dataset.state)) setCardState(card, 'offline');
      ui.awaiting = null;
      if (ui.streaming) { ui.streaming.classList.add('interrupted'); ui.streaming = null; }
      ui.inflight = 0;
      setTyping(false);
      if (ui.wasReady && !ui.dropped) notice(tr('dropped'), 'warn');
      ui.dropped = true;
    }
  });

  client.on('session.started', (ev) => {
    // a card is live only if the server sends its confirm.request again (it follows at once)
    for (const card of ui.cards.values()) if (LIVE_CARD_STATES.has(card.dataset.state)) setCardState(card, 'stale');
    if (ui.dropped && ev.resumed) notice(tr('resumed'), 'ok');
    ui.dropped = false;
    ui.wasReady = true;
  });

  client.on('intent', (ev) => { ui.lastIntent = ev.name; });

  client.on('confirm.request', onConfirmRequest);

  client.on('reply.delta', (ev) => {
    if (!ui.streaming) {
      setTyping(false);
      ui.streaming = addMessage('bot', '', { class: 'msg bot streaming' });
    }
    ui.streaming.querySelector('.bubble').textContent += ev.text;
    scrollToEnd();
  });

  client.on('reply', (ev) => {
    settleCards(ev);
    const prompt = ev.card && ev.card.kind === 'confirm' && ui.cards.has(ev.card.confirmation_id);
    if (ui.streaming) {
      const bubble = ui.streaming;
      ui.streaming = null;
      if (prompt) bubble.remove();
      else {
        bubble.classList.remove('streaming');
        bubble.querySelector('.bubble').textContent = ev.text;
      }
    } else if (!prompt) {
      addMessage('bot', ev.text);
    }
    if (ev.card && (ev.card.kind === 'history' || ev.card.kind === 'reminder')) append(renderList(ev.card));
    // the card carries Confirm / Cancel; its quick replies would only repeat them
    if (!prompt) showQuick(ev.quick_replies);
    turnEnded();
  });

  client.on('error', (ev) => {
    if (ui.streaming) { ui.streaming.classList.add('interrupted'); ui.streaming = null; }
    if (ui.awaiting) {
      const card = ui.cards.get(ui.awaiting.id);
      ui.awaiting = null;
      if (card && card.dataset.state === 'working') setCardState(card, 'pending');
    }
    append(el('li', { class: 'notice error', role: 'alert', dataset: { code: ev.code || '' } },
      el('strong', {}, tr('error')), ev.message || ev.code, ev.code ? el('code', {}, ev.code) : null));
    turnEnded();
  });

  // --- controls ------------------------------------------------------------------------------
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    input.value = '';
    sendText(text);
    input.focus();
  });

  $('lang').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-lang]');
    if (!b || b.dataset.lang === client.lang) return;
    client.setLang(b.dataset.lang);
    applyLabels();
  });

  userSelect.addEventListener('change', () => {
    const opt = userSelect.selectedOptions[0];
    for (const card of ui.cards.values()) clearTimeout(card._expiry);
    ui.cards.clear();
    ui.awaiting = null;
    ui.streaming = null;
    ui.typing = null;
    ui.inflight = 0;
    list.replaceChildren(el('li', { class: 'empty', id: 'empty' }, ''));
    clearQuick();
    client.setUser(opt.value, opt.dataset.lang);
    applyLabels();
  });

  applyLabels();
  client.connect();
  input.focus();
})();
