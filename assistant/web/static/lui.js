/* lui.js — the websocket protocol client shared by the chat widget and the elder page.
 *
 * Speaks the protocol of DESIGN.md: `session.start` on every (re)connection, resuming the stored
 * `session_id`; outgoing messages wait in a queue while the connection is down; reconnects with
 * exponential backoff and jitter; a `ping` keepalive closes a silent socket so it reconnects.
 * No dependencies, no build step.
 */
(function (global) {
  'use strict';

  const STRINGS = {
    zh: {
      title: 'lui 助手', user: '用户', lang: '语言', auto: '自动', send: '发送',
      placeholder: '输入消息，例如：这个月电费多少',
      empty: '您好！我可以帮您交费、查账单、查余额。试试输入“这个月电费多少”。',
      status_idle: '未连接', status_connecting: '连接中…', status_ready: '已连接',
      status_offline: '已断开，{s} 秒后重连', status_unauthorized: '未授权，请重新登录',
      dropped: '连接已断开，正在重连…', resumed: '已恢复会话',
      confirm_title: '确认付款', payee: '收款方', bill: '费用', account: '户号', phone: '手机号', period: '账期',
      expires: '请在 {time} 前确认', confirm: '确认付款', cancel: '取消',
      card_working: '处理中…', card_paid: '已支付 {amount}', card_cancelled: '已取消，没有扣款',
      card_expired: '已过期，没有扣款', card_offline: '连接中断，恢复后可以继续确认',
      card_stale: '这笔确认已失效', card_failed: '没有办成',
      history_title: '缴费记录', reminder_title: '快到期的账单', due: '{date} 前',
      error: '出错了：',
    },
    en: {
      title: 'lui assistant', user: 'User', lang: 'Language', auto: 'Auto', send: 'Send',
      placeholder: "Type a message, e.g. what's my balance",
      empty: "Hi! I can pay bills, check bills and your balance. Try “what's my balance”.",
      status_idle: 'Not connected', status_connecting: 'Connecting…', status_ready: 'Online',
      status_offline: 'Offline, retrying in {s}s', status_unauthorized: 'Not authorised, sign in again',
      dropped: 'Connection lost, reconnecting…', resumed: 'Session resumed',
      confirm_title: 'Confirm payment', payee: 'Payee', bill: 'Bill', account: 'Account', phone: 'Mobile', period: 'Period',
      expires: 'Confirm by {time}', confirm: 'Confirm', cancel: 'Cancel',
      card_working: 'Processing…', card_paid: 'Paid {amount}', card_cancelled: 'Cancelled, nothing charged',
      card_expired: 'Expired, nothing charged', card_offline: 'Connection lost; you can confirm once it is back',
      card_stale: 'No longer pending', card_failed: 'Not completed',
      history_title: 'Payment history', reminder_title: 'Bills due soon', due: 'due {date}',
      error: 'Error: ',
    },
  };

  /** The UI language for a protocol language: zh/en, or the browser's for auto. */
  function uiLang(lang) {
    if (lang === 'zh' || lang === 'en') return lang;
    return (global.navigator && /^zh/i.test(navigator.language || '')) ? 'zh' : 'en';
  }

  /** A UI string with {name} fields filled in; the table falls back to English, then the key. */
  function t(table, lang, key, fields) {
    const l = uiLang(lang);
    let s = (table[l] && table[l][key]) || (table.en && table.en[key]) || key;
    for (const [k, v] of Object.entries(fields || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  function formatFen(fen) {
    const yuan = (Number(fen) || 0) / 100;
    return '¥' + yuan.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  /** zh-CN when the text has Han characters, else en-US (for speechSynthesis). */
  function speechLang(text) {
    return /[\u3400-\u9fff]/.test(text || '') ? 'zh-CN' : 'en-US';
  }

  /** el('div', {class: 'x', onclick: fn}, 'text', childNode, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function params() {
    return new URLSearchParams(global.location ? global.location.search : '');
  }

  const QUEUED_TYPES = new Set(['text', 'confirm', 'cancel']);
  const CLOSE_UNAUTHORIZED = 4401;

  class LuiClient {
    /**
     * @param {object} opts  url, user, lang ('zh'|'en'|'auto'), mode ('standard'|'elder'), token,
     *   pingMs (keepalive interval), pongTimeoutMs, backoffMs ([first, max]), storage (sessionStorage),
     *   speech (ask for spoken replies: reply.audio.* events, and 'binary' events with the audio frames)
     */
    constructor(opts) {
      const o = opts || {};
      const loc = global.location;
      this.url = o.url || ((loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws');
      this.user = o.user || 'u_li';
      this.lang = o.lang || 'auto';
      this.mode = o.mode || 'standard';
      this.speech = Boolean(o.speech);
      this.token = o.token || null;
      this.reminders = Boolean(o.reminders); // a new session starts with the bills due soon (a reply)
      this.pingMs = o.pingMs || 20000;
      this.pongTimeoutMs = o.pongTimeoutMs || 10000;
      this.backoffMs = o.backoffMs || [500, 8000];
      this.storage = o.storage || safeStorage();
      this.ws = null;
      this.state = 'idle'; // idle | connecting | starting | ready | offline | unauthorized | closed
      this.sessionId = this._loadSession();
      this.queue = [];
      this.events = []; // the last events received, newest last (for debugging and tests)
      this.stats = { connects: 0, sessions: 0, resumed: 0, sent: 0, received: 0, binary: 0, binaryBytes: 0,
                     binaryIn: 0, binaryInBytes: 0, pings: 0, pongs: 0 };
      this._listeners = new Map();
      this._attempt = 0;
      this._timer = null;
      this._pingTimer = null;
      this._pongTimer = null;
      this._msgSeq = 0;
      this._intentionalClose = false;
      if (global.addEventListener) {
        global.addEventListener('online', () => { if (this.state === 'offline') this._reconnectNow(); });
      }
    }

    get ready() { return this.state === 'ready'; }

    /** Listen to a server event type, '*' for all, or 'state' for connection state changes. */
    on(type, fn) {
      if (!this._listeners.has(type)) this._listeners.set(type, []);
      this._listeners.get(type).push(fn);
      return this;
    }

    connect() {
      this._intentionalClose = false;
      clearTimeout(this._timer);
      if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) return;
      this._setState('connecting');
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        this._scheduleReconnect();
        return;
      }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onopen = () => {
        if (ws !== this.ws) return;
        this.stats.connects += 1;
        this._startSession();
        this._startPing();
      };
      ws.onmessage = (msg) => {
        if (ws !== this.ws) return;
        if (typeof msg.data !== 'string') { // spoken reply audio, between reply.audio.start and .end
          this.stats.binaryIn += 1;
          this.stats.binaryInBytes += msg.data.byteLength || 0;
          this._emit('binary', msg.data);
          return;
        }
        let event;
        try { event = JSON.parse(msg.data); } catch (err) { return; }
        this._dispatch(event);
      };
      ws.onclose = (ev) => {
        if (ws !== this.ws) return;
        this._onClosed(ev.code);
      };
    }

    /** Close for good (no reconnect). */
    close() {
      this._intentionalClose = true;
      clearTimeout(this._timer);
      this._stopPing();
      if (this.ws) this.ws.close(1000, 'bye');
      this._setState('closed');
    }

    /** Drop the socket as a network failure would: the client reconnects and resumes. */
    drop() {
      if (this.ws) this.ws.close(4000, 'dropped by client');
    }

    /** Send a protocol message; text/confirm/cancel wait in a queue while not connected. */
    send(message) {
      const msg = Object.assign({}, message);
      if (msg.type === 'text' && !msg.id) msg.id = 'm' + (++this._msgSeq) + '-' + Date.now().toString(36);
      if (this.ready) {
        this._raw(msg);
      } else if (QUEUED_TYPES.has(msg.type)) {
        this.queue.push(msg);
        if (this.state === 'offline') this._reconnectNow();
      } else {
        return null;
      }
      return msg;
    }

    /** One binary frame (audio bytes); false when the socket is not ready. */
    sendBinary(data) {
      if (!this.ready) return false;
      this.ws.send(data);
      this.stats.binary += 1;
      this.stats.binaryBytes += data.byteLength || data.size || 0;
      return true;
    }

    setLang(lang) {
      this.lang = lang;
      if (this.ready) this._startSession();
    }

    /** Switch the demo user: that user's stored session is resumed, or a new one starts. */
    setUser(user, lang) {
      this.user = user;
      if (lang) this.lang = lang;
      this.sessionId = this._loadSession();
      if (this.ready) this._startSession();
    }

    /** Forget the stored session: the next session.start begins a new conversation. */
    newSession() {
      this.sessionId = null;
      this._storeSession(null);
      if (this.ready) this._startSession();
    }

    // --- internals -----------------------------------------------------------------------
    _raw(msg) {
      this.ws.send(JSON.stringify(msg));
      this.stats.sent += 1;
    }

    _startSession() {
      const start = { type: 'session.start', lang: this.lang, mode: this.mode, user: this.user };
      if (this.speech) start.speech = true;
      if (this.token) start.token = this.token;
      if (this.sessionId) start.session_id = this.sessionId;
      else if (this.reminders) start.reminders = true;
      this._setState('starting');
      this._raw(start);
    }

    _dispatch(event) {
      this.stats.received += 1;
      this.events.push(event);
      if (this.events.length > 300) this.events.splice(0, this.events.length - 300);
      if (event.type === 'pong') {
        this.stats.pongs += 1;
        clearTimeout(this._pongTimer);
        this._pongTimer = null;
      } else if (event.type === 'session.started') {
        this.sessionId = event.session_id;
        this._storeSession(event.session_id);
        this.stats.sessions += 1;
        if (event.resumed) this.stats.resumed += 1;
        this._attempt = 0;
        this._setState('ready');
        const queued = this.queue.splice(0);
        this._emit(event.type, event);
        this._emit('*', event);
        for (const msg of queued) this._raw(msg);
        return;
      } else if (event.type === 'error' && this.state === 'starting' && event.code === 'forbidden' && this.sessionId) {
        // the stored session belongs to someone else (e.g. another demo user): start afresh
        this.sessionId = null;
        this._storeSession(null);
        this._startSession();
        return;
      }
      this._emit(event.type, event);
      this._emit('*', event);
    }

    _emit(type, payload) {
      for (const fn of this._listeners.get(type) || []) {
        try { fn(payload, this); } catch (err) { setTimeout(() => { throw err; }); }
      }
    }

    _setState(state, extra) {
      const previous = this.state;
      this.state = state;
      this._emit('state', Object.assign({ state, previous }, extra || {}));
    }

    _onClosed(code) {
      this._stopPing();
      this.ws = null;
      if (this._intentionalClose) return;
      if (code === CLOSE_UNAUTHORIZED) {
        this._setState('unauthorized');
        return;
      }
      this._scheduleReconnect();
    }

    _scheduleReconnect() {
      const [first, max] = this.backoffMs;
      const base = Math.min(max, first * Math.pow(2, this._attempt));
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this._attempt += 1;
      clearTimeout(this._timer);
      this._timer = setTimeout(() => this.connect(), delay);
      this._setState('offline', { retryInMs: delay, attempt: this._attempt });
    }

    _reconnectNow() {
      clearTimeout(this._timer);
      this.connect();
    }

    _startPing() {
      this._stopPing();
      this._pingTimer = setInterval(() => {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
        this.ws.send('{"type":"ping"}');
        this.stats.pings += 1;
        if (!this._pongTimer) {
          const ws = this.ws;
          // no pong in time: the socket is dead even if the browser has not noticed; reconnect
          this._pongTimer = setTimeout(() => { this._pongTimer = null; if (ws === this.ws) ws.close(4000, 'no pong'); },
                                       this.pongTimeoutMs);
        }
      }, this.pingMs);
    }

    _stopPing() {
      clearInterval(this._pingTimer);
      clearTimeout(this._pongTimer);
      this._pingTimer = null;
      this._pongTimer = null;
    }

    _key() { return 'lui.session.' + this.mode + '.' + this.user; }

    _loadSession() {
      try { return this.storage.getItem(this._key()); } catch (err) { return null; }
    }

    _storeSession(id) {
      try {
        if (id) this.storage.setItem(this._key(), id);
        else this.storage.removeItem(this._key());
      } catch (err) { /* storage may be disabled; resume then works only within the page */ }
    }
  }

  function safeStorage() {
    try { return global.sessionStorage; } catch (err) { return null; }
  }

  global.Lui = { LuiClient, STRINGS, t, uiLang, formatFen, speechLang, el, params };
})(window);
